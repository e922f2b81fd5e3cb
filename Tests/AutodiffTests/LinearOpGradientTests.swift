import Autodiff
import Tensors
import XCTest

final class LinearOpGradientTests: XCTestCase {
    func testLinearFrozenWeight() {
        let x = leaf([4, 6], seed: 11)
        let w = FrozenWeight(randomTensor([5, 6], seed: 12))
        assertGradients(GradCheck.check([("x", x)]) { $0.linear(x, w) })
    }

    func testLinearFromBF16WeightMatchesWidened() {
        let wf = randomTensor([5, 6], seed: 13)
        var bits = [UInt16](repeating: 0, count: 30)
        convertFloatToBF16(wf.data, &bits, count: 30)
        let widened = Tensor(uninitialized: [5, 6])
        convertBF16ToFloat(bits, widened.data, count: 30)
        bits.withUnsafeBufferPointer { bp in
            let w16 = FrozenWeight(rows: 5, columns: 6, storage: .bfloat16(bp.baseAddress!), owner: nil)
            let x = Variable(randomTensor([3, 6], seed: 14))
            let a = Tape().linear(x, w16), b = Tape().linear(x, FrozenWeight(widened))
            XCTAssertEqual(a.value.array, b.value.array)
        }
    }

    func testLoRALinear() {
        let x = leaf([5, 6], seed: 15)
        let w = FrozenWeight(randomTensor([7, 6], seed: 16))
        let a = leaf([3, 6], seed: 17), b = leaf([7, 3], seed: 18)
        assertGradients(GradCheck.check([("x", x), ("A", a), ("B", b)]) {
            $0.loraLinear(x, w, a: a, b: b, scale: 2.5)
        })
    }

    func testLoRALinearWithDropout() {
        let x = leaf([5, 6], seed: 19)
        let w = FrozenWeight(randomTensor([7, 6], seed: 20))
        let a = leaf([3, 6], seed: 21), b = leaf([7, 3], seed: 22)
        assertGradients(GradCheck.check([("x", x), ("A", a), ("B", b)]) {
            $0.loraLinear(x, w, a: a, b: b, scale: 2, dropout: 0.3, dropoutSeed: 99)
        })
        // The mask really drops: a different seed changes the output.
        let y1 = Tape().loraLinear(x, w, a: a, b: b, scale: 2, dropout: 0.3, dropoutSeed: 99)
        let y2 = Tape().loraLinear(x, w, a: a, b: b, scale: 2, dropout: 0.3, dropoutSeed: 100)
        XCTAssertNotEqual(y1.value.array, y2.value.array)
    }

    /// bf16 runs compute the adapter products with our AVX-512 fp32 kernel where the CPU has it: the
    /// same gradients, and the same values as OpenBLAS's up to summation order.
    func testLoRALinearWithAVX512Products() throws {
        guard CPUInfo.current.avx512f else { throw XCTSkip("no AVX-512F on this CPU: only the OpenBLAS products run here") }
        let x = leaf([37, 6], seed: 40)  // more rows than one 8-row tile, a ragged last tile
        let w = FrozenWeight(randomTensor([7, 6], seed: 41))
        let a = leaf([3, 6], seed: 42), b = leaf([7, 3], seed: 43)
        for dropout: Float in [0, 0.3] {
            assertGradients(GradCheck.check([("x", x), ("A", a), ("B", b)]) {
                $0.loraLinear(x, w, a: a, b: b, scale: 2, dropout: dropout, dropoutSeed: 99, products: .avx512)
            })
            let blas = Tape(recording: false).loraLinear(x, w, a: a, b: b, scale: 2, dropout: dropout, dropoutSeed: 99).value.array
            let ours = Tape(recording: false).loraLinear(x, w, a: a, b: b, scale: 2, dropout: dropout, dropoutSeed: 99, products: .avx512).value.array
            for (u, v) in zip(blas, ours) { XCTAssertEqual(u, v, accuracy: 1e-5 * max(1, abs(u))) }
        }
    }

    /// The AVX-512 products at ranks the kernels handle with partial tiles: rank 1, a rank that is not
    /// a multiple of the dot kernel's 8 columns (11), and an input width off the 16-float groups.
    func testLoRALinearAVX512ProductsAtOddRanks() throws {
        guard CPUInfo.current.avx512f else { throw XCTSkip("no AVX-512F on this CPU: only the OpenBLAS products run here") }
        for r in [1, 11] {
            let x = leaf([37, 19], seed: 50)
            let w = FrozenWeight(randomTensor([21, 19], seed: 51))
            let a = leaf([r, 19], seed: 52), b = leaf([21, r], seed: 53)
            for dropout: Float in [0, 0.3] {
                assertGradients(GradCheck.check([("x", x), ("A", a), ("B", b)]) {
                    $0.loraLinear(x, w, a: a, b: b, scale: 2, dropout: dropout, dropoutSeed: 7, products: .avx512)
                })
                let blas = Tape(recording: false).loraLinear(x, w, a: a, b: b, scale: 2, dropout: dropout, dropoutSeed: 7).value.array
                let ours = Tape(recording: false).loraLinear(x, w, a: a, b: b, scale: 2, dropout: dropout, dropoutSeed: 7, products: .avx512).value.array
                for (u, v) in zip(blas, ours) { XCTAssertEqual(u, v, accuracy: 1e-5 * max(1, abs(u)), "rank \(r), dropout \(dropout)") }
            }
        }
    }

    func testLoRAWithZeroBEqualsBase() {
        let x = Variable(randomTensor([4, 6], seed: 23))
        let w = FrozenWeight(randomTensor([5, 6], seed: 24))
        let a = leaf([2, 6], seed: 25), b = Variable(Tensor(zeros: [5, 2]), requiresGrad: true)
        XCTAssertEqual(Tape().loraLinear(x, w, a: a, b: b, scale: 4).value.array, Tape().linear(x, w).value.array)
    }

    func testFrozenInputGetsNoGradientButLoRADoes() {
        let x = Variable(randomTensor([4, 6], seed: 26))  // not trainable
        let w = FrozenWeight(randomTensor([5, 6], seed: 27))
        let a = leaf([2, 6], seed: 28), b = leaf([5, 2], seed: 29)
        let tape = Tape()
        let y = tape.loraLinear(x, w, a: a, b: b, scale: 1)
        tape.backward(from: y, seed: randomTensor([4, 5], seed: 30))
        XCTAssertNil(x.grad)
        XCTAssertNotNil(a.grad)
        XCTAssertNotNil(b.grad)
    }

    func testFrozenBranchRecordsNothing() {
        let x = Variable(randomTensor([4, 6], seed: 31))
        let tape = Tape()
        let y = tape.linear(x, FrozenWeight(randomTensor([5, 6], seed: 32)))
        XCTAssertFalse(y.requiresGrad)
        XCTAssertEqual(tape.nodeCount, 0)
    }

    func testEmbeddingFrozenTableMatchesRows() {
        let t = randomTensor([6, 4], seed: 34)
        let y = Tape().embedding([3, 1], table: FrozenWeight(t))
        XCTAssertEqual(Array(y.value.array[0..<4]), Array(t.array[12..<16]))
        XCTAssertEqual(Array(y.value.array[4..<8]), Array(t.array[4..<8]))
        XCTAssertFalse(y.requiresGrad)
    }

    func testGradientsAccumulateAcrossBackwardCalls() {
        let x = leaf([3, 4], seed: 35)
        let w = FrozenWeight(randomTensor([2, 4], seed: 36))
        let seed = randomTensor([3, 2], seed: 37)
        let t1 = Tape()
        t1.backward(from: t1.linear(x, w), seed: seed)
        let once = x.grad!.array
        let t2 = Tape()
        t2.backward(from: t2.linear(x, w), seed: seed)
        for (g2, g1) in zip(x.grad!.array, once) { XCTAssertEqual(g2, 2 * g1, accuracy: 1e-6) }
    }
}
