@testable import Tensors
import XCTest

final class GEMMTests: XCTestCase {
    /// Naive reference for `op(A)·op(B)`.
    func reference(_ a: [Float], _ b: [Float], m: Int, n: Int, k: Int, transA: Bool, transB: Bool) -> [Float] {
        var c = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var s: Float = 0
                for p in 0..<k {
                    let av = transA ? a[p * m + i] : a[i * k + p]
                    let bv = transB ? b[j * k + p] : b[p * n + j]
                    s += av * bv
                }
                c[i * n + j] = s
            }
        }
        return c
    }

    func testEveryTransposeCombination() {
        let m = 5, n = 7, k = 3
        let a = (0..<(m * k)).map { Float($0 % 7) - 3 }
        let b = (0..<(k * n)).map { Float($0 % 5) * 0.5 - 1 }
        for transA in [false, true] {
            for transB in [false, true] {
                var c = [Float](repeating: 42, count: m * n)
                sgemm(transA: transA, transB: transB, m: m, n: n, k: k, a, lda: transA ? m : k, b, ldb: transB ? k : n,
                      &c, ldc: n)
                XCTAssertEqual(c, reference(a, b, m: m, n: n, k: k, transA: transA, transB: transB), "transA \(transA) transB \(transB)")
            }
        }
    }

    /// Large GEMMs are split across workers by rows (m ≥ n) or columns (m < n); every transpose of both
    /// splits equals the reference.
    func testSplitGEMMsMatchReference() {
        Threads.configure(2)
        for (m, n, k) in [(200, 50, 300), (40, 300, 300)] {
            let a = (0..<(m * k)).map { Float(($0 * 37) % 17) * 0.1 - 0.8 }
            let b = (0..<(k * n)).map { Float(($0 * 53) % 13) * 0.1 - 0.6 }
            for transA in [false, true] {
                for transB in [false, true] {
                    var c = [Float](repeating: 1, count: m * n)
                    sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.5, a, lda: transA ? m : k, b, ldb: transB ? k : n,
                          beta: 2, &c, ldc: n)
                    let ref = reference(a, b, m: m, n: n, k: k, transA: transA, transB: transB)
                    for i in 0..<(m * n) {
                        XCTAssertEqual(c[i], 0.5 * ref[i] + 2, accuracy: 1e-3 * max(1, abs(ref[i])), "m \(m) n \(n) tA \(transA) tB \(transB) [\(i)]")
                    }
                }
            }
        }
    }

    /// The promise behind exact resume and the goldens: for a fixed thread count a GEMM gives the same
    /// bits every time, and because each element of C is computed whole by one worker with the same
    /// k-order, splitting across 2 or 3 workers gives the bits of the single-threaded GEMM.
    func testSplitGEMMsAreBitIdenticalToSerialAndRepeatable() {
        let before = Threads.count
        defer { Threads.configure(before) }
        Threads.configure(2)  // an earlier test (a one-thread training run) may have left the count at 1
        for (m, n, k) in [(256, 48, 320), (48, 320, 256)] {
            let a = (0..<(m * k)).map { Float(($0 * 7919) % 1009) / 1009 - 0.5 }
            let b = (0..<(k * n)).map { Float(($0 * 104729) % 997) / 997 - 0.5 }
            for transA in [false, true] {
                for transB in [false, true] {
                    func product(threads: Int) -> [UInt32] {
                        Threads.configure(threads)
                        var c = [Float](repeating: 0.25, count: m * n)
                        sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.75, a, lda: transA ? m : k,
                              b, ldb: transB ? k : n, beta: 1, &c, ldc: n)
                        return c.map(\.bitPattern)
                    }
                    let what = "m \(m) n \(n) tA \(transA) tB \(transB)"
                    XCTAssertGreaterThan(Threads.workersForGEMM(m: m, n: n, k: k), 1, "\(what): the split is exercised")
                    let serial = product(threads: 1)
                    for threads in [2, 3] {
                        let first = product(threads: threads)
                        XCTAssertGreaterThan(Threads.workersForGEMM(m: m, n: n, k: k), 1)
                        XCTAssertEqual(first, product(threads: threads), "\(what): \(threads) threads, repeated")
                        XCTAssertEqual(first, serial, "\(what): \(threads) threads vs 1")
                    }
                }
            }
        }
    }

    func testBetaAccumulatesAndAlphaScales() {
        var c: [Float] = [1, 1, 1, 1]
        sgemm(transA: false, transB: false, m: 2, n: 2, k: 1, alpha: 2, [1, 2], lda: 1, [3, 4], ldb: 2, beta: 1, &c, ldc: 2)
        XCTAssertEqual(c, [7, 9, 13, 17])
    }

    func testTransposedBMatchesPlainB() {
        // x · Wᵀ (the Linear layout) equals x · (Wᵀ stored plainly).
        let x: [Float] = [1, 2, 3, 4, 5, 6]
        var y1 = [Float](repeating: 0, count: 4), y2 = y1
        sgemm(transA: false, transB: true, m: 2, n: 2, k: 3, x, lda: 3, [1, 0, -1, 2, 1, 0], ldb: 3, &y1, ldc: 2)
        sgemm(transA: false, transB: false, m: 2, n: 2, k: 3, x, lda: 3, [1, 2, 0, 1, -1, 0], ldb: 2, &y2, ldc: 2)
        XCTAssertEqual(y1, [-2, 4, -2, 13])
        XCTAssertEqual(y2, [-2, 4, -2, 13])
    }
}

final class ConversionTests: XCTestCase {
    func testBF16RoundsToNearestEven() {
        // 1 + 2^-8 is exactly halfway between 1 and 1 + 2^-7: ties go to the even mantissa (1.0).
        XCTAssertEqual(floatToBF16(1 + 1.0 / 256), 0x3F80)
        // 1 + 3·2^-8 is halfway between 1 + 2^-7 (odd) and 1 + 2^-6 (even): rounds up.
        XCTAssertEqual(floatToBF16(1 + 3.0 / 256), 0x3F82)
        XCTAssertEqual(floatToBF16(1 + 1.0 / 256 + 1.0 / 65536), 0x3F81)
        XCTAssertEqual(floatToBF16(-2), 0xC000)
        XCTAssertEqual(floatToBF16(.infinity), 0x7F80)
        XCTAssertTrue(bf16ToFloat(floatToBF16(.nan)).isNaN)
        XCTAssertEqual(floatToBF16(Float(bitPattern: 0x7F7F_FFFF)), 0x7F80, "overflow rounds to infinity")
    }

    func testBF16WideningIsExactAndRoundTrips() {
        var bits = [UInt16]()
        for e in stride(from: 0, to: 0xFFFF, by: 37) where (e & 0x7F80) != 0x7F80 { bits.append(UInt16(e)) }
        var wide = [Float](repeating: 0, count: bits.count)
        convertBF16ToFloat(bits, &wide, count: bits.count)
        var back = [UInt16](repeating: 0, count: bits.count)
        convertFloatToBF16(wide, &back, count: bits.count)
        XCTAssertEqual(back, bits)
        XCTAssertEqual(bf16ToFloat(0x3FC0), 1.5)
    }

    func testF16Conversion() {
        let values: [Float] = [0, 1, -2.5, 65504, 6.1035156e-05, 0.33325195]
        var half = [UInt16](repeating: 0, count: values.count)
        convertFloatToF16(values, &half, count: values.count)
        XCTAssertEqual(half[1], 0x3C00)
        XCTAssertEqual(half[3], 0x7BFF)
        var back = [Float](repeating: 0, count: values.count)
        convertF16ToFloat(half, &back, count: values.count)
        XCTAssertEqual(back, values)
    }
}

final class KernelTests: XCTestCase {
    func testExpPolynomialIsAccurate() {
        var worst: Float = 0
        var x: Float = -20
        while x < 20 {
            let rel = abs(expScalar(x) - Float(Foundation.exp(Double(x)))) / Float(Foundation.exp(Double(x)))
            worst = max(worst, rel)
            x += 0.01
        }
        XCTAssertLessThan(worst, 3e-7)
        XCTAssertEqual(expScalar(-.infinity), 0, accuracy: 1e-37)
    }

    func testReductionsAndTails() {
        let n = 37
        let a = (0..<n).map { Float($0) * 0.5 - 4 }, b = (0..<n).map { Float($0 % 3) }
        var expected: Float = 0
        for i in 0..<n { expected += a[i] * b[i] }
        XCTAssertEqual(dot(a, b, n), expected, accuracy: 1e-4)
        XCTAssertEqual(maxElement(a, n), a.max()!)
        var e = a
        let s = expShiftSum(&e, n, shift: 1)
        XCTAssertEqual(s, a.map { Float(Foundation.exp(Double($0 - 1))) }.reduce(0, +), accuracy: 1e-3)
    }

    func testBufferPoolReusesStorage() {
        BufferPool.shared.trim()
        var first: UnsafeMutablePointer<Float>?
        do {
            let t = Tensor(zeros: [123, 7])
            first = t.data
            XCTAssertEqual(Int(bitPattern: t.data) % 64, 0, "storage is 64-byte aligned")
        }
        let again = Tensor(uninitialized: [7, 123])
        XCTAssertEqual(again.data, first, "a freed buffer of the same size is reused")
    }

    func testSlightlyDifferentShapesShareASizeClass() {
        BufferPool.shared.trim()
        var first: UnsafeMutablePointer<Float>?
        do { first = Tensor(uninitialized: [800, 128]).data }
        // A micro-batch a little shorter than the last one reuses its activation buffers.
        XCTAssertEqual(Tensor(uninitialized: [790, 128]).data, first)
        for n in [1, 17, 1000, 1025, 4097, 123_457, 10_000_019] {
            let c = BufferPool.sizeClass(n)
            XCTAssertGreaterThanOrEqual(c, n)
            XCTAssertLessThanOrEqual(c, n <= 1024 ? n + 15 : n + n / 4, "size class of \(n)")
        }
    }

    func testParallelChunksCoverEveryIndexOnce() {
        Threads.configure(2)
        let n = 100_003
        let out = Tensor(zeros: [n])
        let p = SendablePointer(out.data)
        parallelChunks(n, minimumPerChunk: 1000) { range in for i in range { p.pointer[i] += 1 } }
        XCTAssertEqual(out.array.reduce(0, +), Float(n))
    }
}

import Foundation

/// The hand-written binary16 conversions (used where `Float16` is unavailable, i.e. Intel Macs) agree
/// with `Float16` bit for bit.
final class HalfBitsTests: XCTestCase {
    func testWideningEveryHalfMatchesFloat16() {
        for h in 0...UInt16.max {
            let hardware = Float(Float16(bitPattern: h)), portable = HalfBits.toFloat(h)
            if hardware.isNaN { XCTAssertTrue(portable.isNaN, "\(h)"); continue }
            XCTAssertEqual(portable.bitPattern, hardware.bitPattern, "half bits \(h)")
        }
    }

    func testNarrowingMatchesFloat16IncludingTiesSubnormalsAndOverflow() {
        var floats: [Float] = [0, -0, 1, -1, 65504, 65519.99, 65520, 1e9, -1e9, .infinity, -.infinity,
                               Float(sign: .plus, exponent: -25, significand: 1),        // tie between 0 and the smallest subnormal
                               Float(sign: .plus, exponent: -25, significand: 1.5),
                               Float(sign: .plus, exponent: -14, significand: 1) * 0.999, 1 + 1.0 / 2048, 1 + 3.0 / 2048]
        var state: UInt64 = 7
        for _ in 0..<200_000 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            // Exponents around the half range, all mantissas.
            let bits = UInt32(truncatingIfNeeded: state >> 32)
            let exponent = UInt32(96 + (bits >> 24) % 48) << 23
            floats.append(Float(bitPattern: (bits & 0x807F_FFFF) | exponent))
        }
        for f in floats {
            XCTAssertEqual(HalfBits.fromFloat(f), Float16(f).bitPattern, "\(f) (bits \(f.bitPattern))")
        }
        XCTAssertTrue(Float(Float16(bitPattern: HalfBits.fromFloat(.nan))).isNaN)
    }
}

/// `flushDenormalsToZero` zeroes exactly the floats whose exponent bits are zero, keeping their sign,
/// and leaves every other bit pattern (normals, zeros, infinities, NaNs) untouched, in the vector body
/// and the scalar tail alike.
final class FlushDenormalsTests: XCTestCase {
    func testOnlyDenormalsBecomeZeroOfTheirSign() {
        let edges: [UInt32] = [0x0000_0001, 0x8000_0001, 0x007F_FFFF, 0x807F_FFFF, 0x0040_0000,  // denormals
                               0x0080_0000, 0x8080_0000, 0x3F80_0000, 0x0000_0000, 0x8000_0000,  // smallest normals, 1, ±0
                               0x7F80_0000, 0xFF80_0000, 0x7FC0_0001, 0xFF80_0001, 0x7F7F_FFFF]  // ±inf, NaNs, max
        var rng = SystemRandomNumberGenerator()
        for n in [1, 15, 16, 17, 40] {
            let bits = (0..<n).map { i in i < edges.count ? edges[(i * 7) % edges.count] : UInt32.random(in: 0...UInt32.max, using: &rng) }
            var x = bits.map { Float(bitPattern: $0) }
            x.withUnsafeMutableBufferPointer { flushDenormalsToZero($0.baseAddress!, n) }
            for i in 0..<n {
                let expected = bits[i] & 0x7F80_0000 == 0 ? bits[i] & 0x8000_0000 : bits[i]
                XCTAssertEqual(x[i].bitPattern, expected, "n \(n), element \(i): \(String(bits[i], radix: 16))")
            }
        }
    }
}
