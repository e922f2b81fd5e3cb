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
}
