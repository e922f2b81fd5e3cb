import Autodiff
import Tensors
import XCTest

final class RecomputeTests: XCTestCase {
    /// A small block: LoRA linear → SwiGLU with itself → RMSNorm, as a recompute segment or not.
    func block(_ tape: Tape, _ x: Variable, _ w: FrozenWeight, _ a: Variable, _ b: Variable, _ norm: Tensor) -> Variable {
        let h = tape.loraLinear(x, w, a: a, b: b, scale: 2, dropout: 0.2, dropoutSeed: 7)
        return tape.rmsNorm(tape.swiglu(gate: h, up: h), weight: norm, eps: 1e-5)
    }

    func testRecomputeGivesTheSameGradients() {
        let w = FrozenWeight(randomTensor([6, 6], seed: 110))
        let norm = Tensor(shape: [6], repeating: 1.1)
        let x = leaf([4, 6], seed: 111), a = leaf([2, 6], seed: 112), b = leaf([6, 2], seed: 113)
        let seed = randomTensor([4, 6], seed: 114)

        let plain = Tape()
        plain.backward(from: block(plain, x, w, a, b, norm), seed: seed)
        let expected = [x.grad!.array, a.grad!.array, b.grad!.array]
        for v in [x, a, b] { v.zeroGrad() }

        let tape = Tape()
        let y = tape.recompute([x]) { t, inputs in self.block(t, inputs[0], w, a, b, norm) }
        XCTAssertEqual(tape.nodeCount, 1, "a recompute segment records one node, not its inner ops")
        tape.backward(from: y, seed: seed)
        XCTAssertEqual([x.grad!.array, a.grad!.array, b.grad!.array], expected)
    }

    func testRecomputeGradCheck() {
        let w = FrozenWeight(randomTensor([6, 6], seed: 115))
        let norm = Tensor(shape: [6], repeating: 0.9)
        let x = leaf([3, 6], seed: 116), a = leaf([2, 6], seed: 117), b = leaf([6, 2], seed: 118)
        assertGradients(GradCheck.check([("x", x), ("A", a), ("B", b)], step: 1e-3) { tape in
            tape.recompute([x]) { t, inputs in self.block(t, inputs[0], w, a, b, norm) }
        }, tolerance: 2e-3)
    }
}
