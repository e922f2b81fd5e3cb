import Autodiff
import Tensors
import XCTest

final class DropoutKernelTests: XCTestCase {
    /// The vectorised mask (AVX-512F, split across workers) equals the scalar definition bit for bit:
    /// lengths around the 8-element step and across the worker split, several seeds and rates, values
    /// that include −0, infinities and NaN, in place and out of place.
    func testVectorisedMaskEqualsScalarBitForBit() throws {
        guard CPUInfo.current.avx512f else { throw XCTSkip("no AVX-512F on this CPU: apply runs the scalar definition itself") }
        for count in [1, 7, 8, 9, 63, 300_001] {
            let src = randomTensor([count], seed: UInt64(count))
            if count > 3 { src[0] = -0.0; src[1] = .infinity; src[2] = .nan; src[3] = -.infinity }
            for (seed, p) in [(UInt64(0), Float(0.05)), (0xDEAD_BEEF_0123_4567, 0.3), (UInt64.max, 0.9)] {
                let want = Tensor(uninitialized: [count]), got = Tensor(uninitialized: [count])
                DropoutMask.applyScalar(seed: seed, p: p, src.data, want.data, count: count)
                DropoutMask.apply(seed: seed, p: p, src.data, got.data, count: count)
                XCTAssertEqual(got.array.map(\.bitPattern), want.array.map(\.bitPattern), "count \(count), seed \(seed), p \(p)")
                let inPlace = Tensor(shape: [count], values: src.array)
                DropoutMask.apply(seed: seed, p: p, inPlace.data, inPlace.data, count: count)
                XCTAssertEqual(inPlace.array.map(\.bitPattern), want.array.map(\.bitPattern), "in place, count \(count)")
            }
        }
    }

    /// The dropout path's input gradient, computed a few rows at a time through a per-worker scratch,
    /// equals the whole-matrix computation (product, mask, add) bit for bit, with OpenBLAS (fp32 runs)
    /// and with the AVX-512 products.
    func testChunkedDroppedInputGradientEqualsWholeMatrix() {
        let n = 300, r = 5, inF = 100  // 163 rows per chunk: several chunks, a ragged last one
        let dhr = randomTensor([n, r], seed: 1), a = randomTensor([r, inF], seed: 2), dx0 = randomTensor([n, inF], seed: 3)
        var kinds: [FP32Products] = [.openBLAS]
        if CPUInfo.current.avx512f { kinds.append(.avx512) }
        for kind in kinds {
            let lora = LoRAProducts(kind)
            let want = Tensor(shape: [n, inF], values: dx0.array), t = Tensor(uninitialized: [n, inF])
            lora.gradX(n: n, r: r, inF: inF, dhr.data, ldh: r, a.data, t.data, beta: 0)
            DropoutMask.applyScalar(seed: 9, p: 0.2, t.data, t.data, count: n * inF)
            axpy(1, t.data, want.data, n * inF)
            let got = Tensor(shape: [n, inF], values: dx0.array)
            lora.gradXDropped(n: n, r: r, inF: inF, dhr.data, ldh: r, a.data, seed: 9, p: 0.2, got.data)
            XCTAssertEqual(got.array.map(\.bitPattern), want.array.map(\.bitPattern), "\(kind)")
        }
    }
}
