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

    func gradients(churn: Bool) -> [[Float]] {
        let x = leaf([4, 12], seed: 200)
        let w = FrozenWeight(randomTensor([12, 12], seed: 201))
        let a = leaf([2, 12], seed: 202), b = leaf([12, 2], seed: 203)
        let norm = Tensor(shape: [12], repeating: 1.2)
        let cos = randomTensor([4, 2], seed: 204), sin = randomTensor([4, 2], seed: 205)
        let tape = Tape()
        let n = tape.rmsNorm(x, weight: norm, eps: 1e-5)
        let q = tape.rope(tape.loraLinear(n, w, a: a, b: b, scale: 2, dropout: 0.1, dropoutSeed: 3), heads: 3, headDim: 4, cos: cos, sin: sin)
        let att = tape.attention(q: q, k: q, v: n, heads: 3, kvHeads: 3, headDim: 4, segments: [Segment(start: 0, length: 4)])
        let h = tape.add(x, tape.swiglu(gate: att, up: n))
        let loss = tape.lmHeadCrossEntropy(h, weight: w, positions: [0, 2, 3], targets: [1, 5, 11])
        if churn { churnPool() }
        tape.backward(from: loss)
        return [x.grad!.array, a.grad!.array, b.grad!.array]
    }

    func testBackwardIsUnaffectedByReuseOfFreedBuffers() {
        let clean = gradients(churn: false)
        let churned = gradients(churn: true)
        XCTAssertEqual(churned, clean)
        XCTAssertFalse(churned.joined().contains { $0.isNaN })
    }
}
