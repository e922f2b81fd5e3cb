import Tensors
import XCTest

/// Our AVX-512 fp32 products (bf16 runs' attention and LoRA products) against their documented
/// arithmetic, written out in scalar Swift: bit for bit, on ragged shapes, strides, alpha and accumulate.
final class FP32KernelTests: XCTestCase {
    /// Values in [-1, 1) with varied exponents, so a changed summation order shows in the last bits.
    func values(_ count: Int, seed: UInt64) -> [Float] {
        var s = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        return (0..<count).map { _ in
            s = s &* 6364136223846793005 &+ 1442695040888963407
            let u = Float(s >> 40) / Float(1 << 24)
            return (u * 2 - 1) * Float(1 << Int((s >> 20) & 7)) / 64
        }
    }

    func requireAVX512() throws {
        guard CPUInfo.current.avx512f else { throw XCTSkip("no AVX-512F on this CPU: the kernels under test cannot run here") }
    }

    /// `sgemmAVX512`: each output sums its k products in order from zero, one FMA each; then alpha·sum
    /// (+ C, fused). Covers the short-k sweep (k ≤ 32: row tiles outermost) and the long-k one.
    func testTileKernelSumsInKOrder() throws {
        try requireAVX512()
        for (m, n, k, transA) in [(37, 45, 8, false), (37, 45, 8, true), (5, 70, 24, true), (19, 33, 33, false), (64, 40, 100, true), (1, 1, 1, false)] {
            for (alpha, accumulate) in [(Float(1), false), (Float(1.75), true)] {
                let lda = (transA ? m : k) + 3, ldb = n + 2, ldc = n + 5
                let a = values((transA ? k : m) * lda, seed: 1), b = values(k * ldb, seed: 2), c0 = values(m * ldc, seed: 3)
                var c = c0
                sgemmAVX512(transA: transA, m: m, n: n, k: k, alpha: alpha, a, lda: lda, b, ldb: ldb, accumulate: accumulate, &c, ldc: ldc)
                for i in 0..<m {
                    for j in 0..<n {
                        var sum: Float = 0
                        for p in 0..<k { sum = sum.addingProduct(transA ? a[p * lda + i] : a[i * lda + p], b[p * ldb + j]) }
                        let want = accumulate ? c0[i * ldc + j].addingProduct(alpha, sum) : alpha * sum
                        XCTAssertEqual(c[i * ldc + j].bitPattern, want.bitPattern, "m \(m) n \(n) k \(k) transA \(transA) at (\(i), \(j))")
                    }
                    // Padding between rows is never written.
                    for j in n..<ldc { XCTAssertEqual(c[i * ldc + j].bitPattern, c0[i * ldc + j].bitPattern) }
                }
            }
        }
    }

    /// `sgemmNarrowAVX512`: lane l sums p ≡ l (mod 16) in order (FMAs from zero, absent lanes of the
    /// last group adding 0·0), then per 128-bit chunk (l0 + l2) + (l1 + l3), then (c0 + c1) + (c2 + c3).
    func testNarrowKernelSumsInLanesThenATree() throws {
        try requireAVX512()
        // Ranks 1, 3, 8, 11, 24 (the q/k/v stack); k below, at and around a 16-float group; ragged row tiles.
        for (m, n, k) in [(1, 1, 1), (2, 3, 15), (37, 8, 16), (4, 11, 17), (37, 24, 40), (7, 8, 576), (3, 1, 33)] {
            for (alpha, accumulate) in [(Float(1), false), (Float(-0.625), true)] {
                let lda = k + 1, ldb = k + 4, ldc = n + 2
                let a = values(m * lda, seed: 4), b = values(n * ldb, seed: 5), c0 = values(m * ldc, seed: 6)
                var c = c0
                sgemmNarrowAVX512(m: m, n: n, k: k, alpha: alpha, a, lda: lda, b, ldb: ldb, accumulate: accumulate, &c, ldc: ldc)
                let groups = (k + 15) / 16
                for i in 0..<m {
                    for j in 0..<n {
                        var lane = [Float](repeating: 0, count: 16)
                        for g in 0..<groups {
                            for l in 0..<16 {
                                let p = g * 16 + l
                                lane[l] = p < k ? lane[l].addingProduct(a[i * lda + p], b[j * ldb + p]) : lane[l].addingProduct(0, 0)
                            }
                        }
                        var chunk = [Float](repeating: 0, count: 4)
                        for q in 0..<4 {
                            let even: Float = lane[4 * q] + lane[4 * q + 2], odd: Float = lane[4 * q + 1] + lane[4 * q + 3]
                            chunk[q] = even + odd
                        }
                        let sum = (chunk[0] + chunk[1]) + (chunk[2] + chunk[3])
                        let want = accumulate ? c0[i * ldc + j].addingProduct(alpha, sum) : alpha * sum
                        XCTAssertEqual(c[i * ldc + j].bitPattern, want.bitPattern, "m \(m) n \(n) k \(k) at (\(i), \(j))")
                    }
                    for j in n..<ldc { XCTAssertEqual(c[i * ldc + j].bitPattern, c0[i * ldc + j].bitPattern) }
                }
            }
        }
    }

    /// `sgemmTallAVX512`: per block of `tallKBlock` rows of B, the block's products summed in order from
    /// zero, then C = alpha·blockSum + C (a fresh C starts from alpha·blockSum of the first block).
    func testTallKernelSumsInBlocksOfK() throws {
        try requireAVX512()
        // m: rank 1, 8, the q/k/v stack 24 (three row tiles); k: one partial block, exactly one, several + a partial.
        for (m, n, k) in [(1, 5, 7), (8, 45, 32), (24, 70, 100), (3, 33, 65)] {
            for (alpha, accumulate) in [(Float(1), false), (Float(1.5), true)] {
                let lda = m + 2, ldb = n + 3, ldc = n + 1
                let a = values(k * lda, seed: 7), b = values(k * ldb, seed: 8), c0 = values(m * ldc, seed: 9)
                var c = c0
                sgemmTallAVX512(m: m, n: n, k: k, alpha: alpha, a, lda: lda, b, ldb: ldb, accumulate: accumulate, &c, ldc: ldc)
                for i in 0..<m {
                    for j in 0..<n {
                        var want: Float = accumulate ? c0[i * ldc + j] : 0
                        for p0 in stride(from: 0, to: k, by: tallKBlock) {
                            var sum: Float = 0
                            for p in p0..<min(k, p0 + tallKBlock) { sum = sum.addingProduct(a[p * lda + i], b[p * ldb + j]) }
                            want = (accumulate || p0 > 0) ? want.addingProduct(alpha, sum) : alpha * sum
                        }
                        XCTAssertEqual(c[i * ldc + j].bitPattern, want.bitPattern, "m \(m) n \(n) k \(k) at (\(i), \(j))")
                    }
                    for j in n..<ldc { XCTAssertEqual(c[i * ldc + j].bitPattern, c0[i * ldc + j].bitPattern) }
                }
            }
        }
    }
}
