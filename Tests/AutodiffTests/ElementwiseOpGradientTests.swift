import Autodiff
import Tensors
import XCTest

final class ElementwiseOpGradientTests: XCTestCase {
    func testAdd() {
        let a = leaf([3, 5], seed: 1), b = leaf([3, 5], seed: 2)
        assertGradients(GradCheck.check([("a", a), ("b", b)]) { $0.add(a, b) })
    }

    func testAddSameVariableTwiceAccumulates() {
        let a = leaf([4, 4], seed: 3)
        assertGradients(GradCheck.check([("a", a)]) { $0.add(a, a) })
        let tape = Tape()
        let y = tape.add(a, a)
        a.zeroGrad()
        tape.backward(from: y, seed: Tensor(shape: [4, 4], repeating: 1))
        XCTAssertEqual(a.grad![0], 2)
    }

    func testSwiGLU() {
        // 40 elements: exercises the 16-lane body and the scalar tail.
        let g = leaf([5, 8], seed: 4, scale: 3), u = leaf([5, 8], seed: 5)
        assertGradients(GradCheck.check([("gate", g), ("up", u)]) { $0.swiglu(gate: g, up: u) })
    }

    func testRMSNorm() {
        let x = leaf([4, 24], seed: 6)
        let w = randomTensor([24], seed: 7)
        for i in 0..<w.count { w[i] += 1 }
        assertGradients(GradCheck.check([("x", x)], step: 1e-3) { $0.rmsNorm(x, weight: w, eps: 1e-5) })
    }

    func testRMSNormValue() {
        let x = Variable(Tensor(shape: [1, 4], values: [1, 2, 3, 4]))
        let w = Tensor(shape: [4], values: [1, 1, 2, 0.5])
        let y = Tape().rmsNorm(x, weight: w, eps: 0)
        let rho = 1 / (30.0 / 4).squareRoot()
        let expected = [1 * rho, 2 * rho, 6 * rho, 2 * rho]
        for i in 0..<4 { XCTAssertEqual(Double(y.value[i]), expected[i], accuracy: 1e-6) }
    }

    func testRoPE() {
        let heads = 3, d = 8, n = 5
        let x = leaf([n, heads * d], seed: 8)
        let angles = randomTensor([n, d / 2], seed: 9, scale: 3)
        let cos = Tensor(uninitialized: angles.shape), sin = Tensor(uninitialized: angles.shape)
        for i in 0..<angles.count { cos[i] = Foundation.cos(angles[i]); sin[i] = Foundation.sin(angles[i]) }
        assertGradients(GradCheck.check([("x", x)]) { $0.rope(x, heads: heads, headDim: d, cos: cos, sin: sin) })
    }

    func testRoPEPairsDimensionWithHalfway() {
        // One head, d = 4, angle π/2 on pair 0 only: x'[0] = −x[2], x'[2] = x[0]; pair 1 untouched.
        let x = Variable(Tensor(shape: [1, 4], values: [1, 2, 3, 4]))
        let cos = Tensor(shape: [1, 2], values: [0, 1]), sin = Tensor(shape: [1, 2], values: [1, 0])
        let y = Tape().rope(x, heads: 1, headDim: 4, cos: cos, sin: sin)
        XCTAssertEqual(y.value.array, [-3, 2, 1, 4])
    }
}

import Foundation
