import Autodiff
import Tensors
import XCTest

/// Pullbacks must keep alive every tensor they read: freed storage goes back to the pool and is
/// handed out again, so a pullback holding only a raw pointer would read someone else's data.
final class SavedActivationTests: XCTestCase {
    /// Fills pooled buffers of many sizes with NaN, so any dangling read shows up.
    func churnPool() {
        var hold: [Tensor] = []
        for size in 1...300 { for _ in 0..<3 { hold.append(Tensor(shape: [size], repeating: .nan)) } }
        for size in [16, 24, 40, 48, 64, 96, 120, 144] { for _ in 0..<8 { hold.append(Tensor(shape: [size * size], repeating: .nan)) } }
        hold.removeAll()
    }

    func gradients(churn: Bool, bf16: Bool = false) -> [[Float]] {
        let x = leaf([4, 12], seed: 200)
        let w = FrozenWeight(randomTensor([12, 12], seed: 201))
        // The projections through the bf16 kernel (their activation packs are pooled too); the LM head stays fp32.
        let projection = bf16 ? FrozenWeight(randomTensor([12, 12], seed: 201)) : w
        if bf16 { projection.packBF16() }
        let gw = FrozenWeight(randomTensor([20, 12], seed: 206))
        if bf16 { gw.packBF16() }
        let ga = leaf([2, 12], seed: 207), gb = leaf([8, 2], seed: 208)
        let a = leaf([2, 12], seed: 202), b = leaf([12, 2], seed: 203)
        let norm = Tensor(shape: [12], repeating: 1.2)
        let cos = randomTensor([4, 2], seed: 204), sin = randomTensor([4, 2], seed: 205)
        let tape = Tape()
        let n = tape.rmsNorm(x, weight: norm, eps: 1e-5)
        let q = tape.rope(tape.loraLinear(n, projection, a: a, b: b, scale: 2, dropout: 0.1, dropoutSeed: 3), heads: 3, headDim: 4, cos: cos, sin: sin)
        let grouped = tape.splitColumns(tape.groupedLoRALinear(n, gw, blocks: [LoRABlock(rows: 12), LoRABlock(rows: 8, a: ga, b: gb)], scale: 2),
                                        widths: [12, 8])[0]
        let att = tape.attention(q: q, k: q, v: n, heads: 3, kvHeads: 3, headDim: 4, segments: [Segment(start: 0, length: 4)])
        let h = tape.add(x, tape.swiglu(gate: att, up: tape.linear(grouped, projection)))
        let loss = tape.lmHeadCrossEntropy(h, weight: w, positions: [0, 2, 3], targets: [1, 5, 11])
        if churn { churnPool() }
        tape.backward(from: loss)
        return [x.grad!.array, a.grad!.array, b.grad!.array, ga.grad!.array, gb.grad!.array]
    }

    func testBackwardIsUnaffectedByReuseOfFreedBuffers() {
        let clean = gradients(churn: false)
        let churned = gradients(churn: true)
        XCTAssertEqual(churned, clean)
        XCTAssertFalse(churned.joined().contains { $0.isNaN })
    }

    func testBF16ProductsAreUnaffectedByReuseOfFreedBuffers() {
        let clean = gradients(churn: false, bf16: true)
        let churned = gradients(churn: true, bf16: true)
        XCTAssertEqual(churned, clean)
        XCTAssertFalse(churned.joined().contains { $0.isNaN })
        XCTAssertNotEqual(clean, gradients(churn: false), "the bf16 variant must take the bf16 path")
    }

    /// The ops not covered above: frozen linear, grouped LoRA linear with dropout and its column split,
    /// the embedding gather and a recompute segment, with nothing but the tape holding the activations.
    func groupedGradients(churn: Bool) -> [[Float]] {
        let table = FrozenWeight(randomTensor([20, 12], seed: 210))
        let w = FrozenWeight(randomTensor([18, 12], seed: 211)), o = FrozenWeight(randomTensor([12, 6], seed: 212))
        let a1 = leaf([2, 12], seed: 213), b1 = leaf([6, 2], seed: 214), a3 = leaf([2, 12], seed: 215), b3 = leaf([6, 2], seed: 216)
        let lm = FrozenWeight(randomTensor([20, 12], seed: 217))
        let tape = Tape()
        let x = tape.embedding([3, 7, 7, 19, 0], table: table)
        let h = tape.recompute([x]) { t, inputs in
            let y = t.groupedLoRALinear(inputs[0], w, blocks: [LoRABlock(rows: 6, a: a1, b: b1, dropoutSeed: 4), LoRABlock(rows: 6),
                                                               LoRABlock(rows: 6, a: a3, b: b3, dropoutSeed: 5)], scale: 1.5, dropout: 0.2)
            let parts = t.splitColumns(y, widths: [6, 6, 6])
            return t.add(inputs[0], t.linear(t.swiglu(gate: parts[0], up: parts[2]), o))
        }
        let loss = tape.lmHeadCrossEntropy(h, weight: lm, positions: [0, 1, 3], targets: [2, 9, 4])
        if churn { churnPool() }
        tape.backward(from: loss)
        return [a1.grad!.array, b1.grad!.array, a3.grad!.array, b3.grad!.array]
    }

    func testGroupedOpsAndRecomputeAreUnaffectedByReuseOfFreedBuffers() {
        let clean = groupedGradients(churn: false)
        let churned = groupedGradients(churn: true)
        XCTAssertEqual(churned, clean)
        XCTAssertFalse(churned.joined().contains { $0.isNaN })
    }
}
