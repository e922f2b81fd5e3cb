import Autodiff
import Tensors
import XCTest

/// The linear ops with a weight packed for bf16 (precision bf16): the frozen products take bf16
/// operands (x·Wᵀ forward, dY·W backward); the LoRA branch stays fp32.
final class BF16LinearTests: XCTestCase {
    func packed(_ t: Tensor) -> FrozenWeight {
        let w = FrozenWeight(t)
        w.packBF16()
        return w
    }

    func rounded(_ f: Float) -> Double { Double(Float(bitPattern: UInt32(floatToBF16(f)) << 16)) }

    /// As a function of A and B the bf16 op is smooth (the frozen product does not depend on them), so
    /// their gradients are checked by finite differences exactly as in fp32.
    func testLoRALinearAdapterGradients() {
        let x = Variable(randomTensor([5, 40], seed: 31))
        let w = packed(randomTensor([36, 40], seed: 32))
        let a = leaf([3, 40], seed: 33), b = leaf([36, 3], seed: 34)
        assertGradients(GradCheck.check([("A", a), ("B", b)]) { $0.loraLinear(x, w, a: a, b: b, scale: 2.5) })
        assertGradients(GradCheck.check([("A", a), ("B", b)]) { $0.loraLinear(x, w, a: a, b: b, scale: 2, dropout: 0.3, dropoutSeed: 7) })
    }

    func testGroupedLoRALinearAdapterGradients() {
        let x = Variable(randomTensor([6, 24], seed: 41))
        let w = packed(randomTensor([40, 24], seed: 42))
        let a1 = leaf([2, 24], seed: 43), b1 = leaf([16, 2], seed: 44), a3 = leaf([2, 24], seed: 45), b3 = leaf([8, 2], seed: 46)
        let blocks = [LoRABlock(rows: 16, a: a1, b: b1), LoRABlock(rows: 16), LoRABlock(rows: 8, a: a3, b: b3)]
        assertGradients(GradCheck.check([("A1", a1), ("B1", b1), ("A3", a3), ("B3", b3)]) {
            $0.groupedLoRALinear(x, w, blocks: blocks, scale: 2)
        })
    }

    /// y = bf16(x)·bf16(W)ᵀ + s·(x·Aᵀ)·Bᵀ and dx = bf16(dy)·bf16(W) + s·(dy·B)·A, against Double sums.
    func testProductsUseRoundedOperandsAndLoRAStaysFP32() {
        let n = 4, inF = 20, outF = 12, r = 2
        let x = leaf([n, inF], seed: 51), wt = randomTensor([outF, inF], seed: 52)
        let a = leaf([r, inF], seed: 53), b = leaf([outF, r], seed: 54), s: Float = 1.5
        let tape = Tape()
        let y = tape.loraLinear(x, packed(wt), a: a, b: b, scale: s)
        let dy = randomTensor([n, outF], seed: 55)
        tape.backward(from: y, seed: dy)
        for i in 0..<n {
            for o in 0..<outF {
                var base = 0.0, lora = 0.0
                for j in 0..<inF { base += rounded(x.value[i * inF + j]) * rounded(wt[o * inF + j]) }
                for q in 0..<r {
                    var h = 0.0
                    for j in 0..<inF { h += Double(x.value[i * inF + j]) * Double(a.value[q * inF + j]) }
                    lora += h * Double(b.value[o * r + q])
                }
                XCTAssertEqual(Double(y.value[i * outF + o]), base + Double(s) * lora, accuracy: 1e-5 * max(1, abs(base)))
            }
            for j in 0..<inF {
                var base = 0.0, lora = 0.0
                for o in 0..<outF { base += rounded(dy[i * outF + o]) * rounded(wt[o * inF + j]) }
                for q in 0..<r {
                    var dh = 0.0
                    for o in 0..<outF { dh += Double(dy[i * outF + o]) * Double(b.value[o * r + q]) }
                    lora += Double(s) * dh * Double(a.value[q * inF + j])
                }
                XCTAssertEqual(Double(x.grad![i * inF + j]), base + lora, accuracy: 1e-5 * max(1, abs(base)))
            }
        }
    }

    func testFP32PathIgnoresNothingAndBF16Differs() {
        let x = Variable(randomTensor([3, 64], seed: 61)), wt = randomTensor([48, 64], seed: 62)
        let y32 = Tape().linear(x, FrozenWeight(wt)).value.array
        let y16 = Tape().linear(x, packed(wt)).value.array
        XCTAssertNotEqual(y32, y16, "bf16 rounding must change some outputs")
        for (p, q) in zip(y32, y16) { XCTAssertEqual(p, q, accuracy: 0.05 * max(1, abs(p))) }
    }
}
