import Autodiff
import Tensors
import XCTest

/// RoPE, RMSNorm and the residual add split their rows across the workers and run 16 lanes at a time.
/// On shapes large enough to be split, with head and row sizes that leave partial 16-lane tails, each
/// must equal the one-element-at-a-time formula bit for bit (fp32 runs depend on it).
final class ElementwiseBitsTests: XCTestCase {
    func testRoPEEqualsTheScalarRotationBitForBit() {
        for (n, heads, d) in [(300, 9, 64), (257, 5, 40)] {
            let half = d / 2
            let x = leaf([n, heads * d], seed: 1), cos = randomTensor([n, half], seed: 2), sin = randomTensor([n, half], seed: 3)
            let tape = Tape()
            let y = tape.rope(x, heads: heads, headDim: d, cos: cos, sin: sin)
            let dy = randomTensor([n, heads * d], seed: 4)
            // Twice: the second pass accumulates into the existing gradient.
            tape.backward(from: y, seed: dy)
            let firstGrad = x.grad!.array
            let tape2 = Tape()
            tape2.backward(from: tape2.rope(x, heads: heads, headDim: d, cos: cos, sin: sin), seed: dy)
            var expectedY = [Float](repeating: 0, count: n * heads * d), expectedGrad = expectedY
            for t in 0..<n {
                for h in 0..<heads {
                    for j in 0..<half {
                        let o = (t * heads + h) * d, c = cos[t * half + j], s = sin[t * half + j]
                        let (a, b) = (x.value[o + j], x.value[o + j + half])
                        expectedY[o + j] = a * c - b * s
                        expectedY[o + j + half] = b * c + a * s
                        let (ga, gb) = (dy[o + j], dy[o + j + half])
                        let back = -1 * s
                        expectedGrad[o + j] = ga * c - gb * back
                        expectedGrad[o + j + half] = gb * c + ga * back
                    }
                }
            }
            assertSameBits(y.value.array, expectedY, "rope forward \(n)×\(heads)×\(d)")
            assertSameBits(firstGrad, expectedGrad, "rope backward \(n)×\(heads)×\(d)")
            assertSameBits(x.grad!.array, zip(expectedGrad, expectedGrad).map { $0 + $1 }, "rope accumulated backward")
        }
    }

    func testRMSNormEqualsTheScalarFormulaBitForBit() {
        for (n, c) in [(200, 576), (150, 300)] {
            let x = leaf([n, c], seed: 5), w = randomTensor([c], seed: 6), dy = randomTensor([n, c], seed: 7)
            let eps: Float = 1e-5
            let tape = Tape()
            let y = tape.rmsNorm(x, weight: w, eps: eps)
            tape.backward(from: y, seed: dy)
            let firstGrad = x.grad!.array
            let tape2 = Tape()
            tape2.backward(from: tape2.rmsNorm(x, weight: w, eps: eps), seed: dy)
            var expectedY = [Float](repeating: 0, count: n * c), expectedGrad = expectedY
            for row in 0..<n {
                let xr = x.value.data + row * c
                let r = 1 / (dot(xr, xr, c) / Float(c) + eps).squareRoot()
                var g = [Float](repeating: 0, count: c)
                for i in 0..<c { expectedY[row * c + i] = w[i] * (xr[i] * r); g[i] = w[i] * dy[row * c + i] }
                let k = r * r * r / Float(c) * dot(g, xr, c)
                for i in 0..<c { expectedGrad[row * c + i] = r * g[i] - k * xr[i] }
            }
            assertSameBits(y.value.array, expectedY, "rmsNorm forward \(n)×\(c)")
            assertSameBits(firstGrad, expectedGrad, "rmsNorm backward \(n)×\(c)")
            assertSameBits(x.grad!.array, zip(expectedGrad, expectedGrad).map { $0 + $1 }, "rmsNorm accumulated backward")
        }
    }

    func testAddEqualsElementwiseSumBitForBit() {
        let n = 70_001
        let a = leaf([n], seed: 8), b = leaf([n], seed: 9), dy = randomTensor([n], seed: 10)
        let tape = Tape()
        let y = tape.add(a, b)
        tape.backward(from: y, seed: dy)
        assertSameBits(y.value.array, zip(a.value.array, b.value.array).map { $0 + $1 }, "add forward")
        assertSameBits(a.grad!.array, dy.array, "add backward a")
        let tape2 = Tape()
        tape2.backward(from: tape2.add(a, b), seed: dy)
        assertSameBits(b.grad!.array, zip(dy.array, dy.array).map { $0 + $1 }, "add accumulated backward b")
    }
}
