@testable import Tensors
import XCTest

/// Activations rounded to bf16 and packed per product: the AVX-512 code gives the scalar code's bits
/// (`floatToBF16`: nearest even, denormals kept, NaN quieted) on every edge value, in both layouts.
final class BF16PackingTests: XCTestCase {
    /// Edge values (bit patterns): zeros, denormals, ties to even both ways, values that round up into
    /// the next binade or to infinity, infinities, NaNs with payloads only in the dropped bits, and
    /// signalling NaNs — then pseudo-random patterns.
    func edgeValues(_ count: Int) -> [Float] {
        let edges: [UInt32] = [
            0x0000_0000, 0x8000_0000, 0x0000_0001, 0x8000_0001, 0x0000_8000, 0x0001_8000, 0x007F_FFFF, 0x807F_FFFF,
            0x0080_0000, 0x3F80_8000, 0x3F81_8000, 0x3F80_7FFF, 0x3F80_8001, 0x3FFF_FFFF, 0x7F7F_7FFF, 0x7F7F_8000,
            0x7F7F_FFFF, 0xFF7F_FFFF, 0x7F80_0000, 0xFF80_0000, 0x7F80_0001, 0x7F80_8000, 0xFF80_0001, 0x7FC0_0000,
            0xFFFF_FFFF, 0x7FFF_FFFF, 0x7FBF_FFFF, 0x0000_7FFF, 0x8000_8000, 0x3380_0000, 0xB380_0000, 0x4049_0FDB,
        ]
        var state: UInt64 = 0x1234_5678_9ABC_DEF1
        return (0..<count).map { i in
            if i < edges.count { return Float(bitPattern: edges[i]) }
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Float(bitPattern: UInt32(truncatingIfNeeded: state >> 11))
        }
    }

    func testAVX512RowPackingEqualsScalar() throws {
        try XCTSkipUnless(CPUInfo.current.avx512f, "no AVX-512 here (\(CPUInfo.current.summary)): the scalar packing runs")
        for (m, k, lda) in [(3, 64, 64), (5, 33, 40), (2, 1, 3), (7, 47, 47), (4, 300, 301)] {
            let a = edgeValues(m * lda)
            let pairs = (k + 1) / 2
            var fast = [UInt32](repeating: 0xDEAD_BEEF, count: m * pairs + 1), slow = fast
            a.withUnsafeBufferPointer { ap in
                packBF16Rows(m: m, k: k, ap.baseAddress!, lda: lda, into: &fast)  // the AVX-512 code on this CPU
                packBF16RowsScalar(m: m, k: k, ap.baseAddress!, lda: lda, into: &slow)
            }
            XCTAssertEqual(fast, slow, "\(m)×\(k), lda \(lda)")
            XCTAssertEqual(fast.last, 0xDEAD_BEEF, "wrote past the rows")
        }
    }

    func testAMXTilePackingIsTheScalarPackingRearranged() throws {
        try XCTSkipUnless(CPUInfo.current.avx512f, "no AVX-512 here (\(CPUInfo.current.summary)): the tile layout is only used by AMX")
        for (m, k, lda) in [(16, 32, 32), (17, 33, 40), (3, 1, 1), (40, 100, 101)] {
            let a = edgeValues(m * lda)
            let pairs = (k + 1) / 2, groups = (k + 31) / 32, tiles = (m + 15) / 16
            var rows = [UInt32](repeating: 0, count: m * pairs)
            var packed = [UInt32](repeating: 0xDEAD_BEEF, count: tiles * groups * 256)
            a.withUnsafeBufferPointer { ap in
                packBF16RowsScalar(m: m, k: k, ap.baseAddress!, lda: lda, into: &rows)
                packBF16Tiles(m: m, k: k, ap.baseAddress!, lda: lda, into: &packed)
            }
            for t in 0..<tiles {
                for g in 0..<groups {
                    for r in 0..<16 {
                        for q in 0..<16 {
                            let row = 16 * t + r, pair = 16 * g + q
                            let expected = row < m && pair < pairs ? rows[row * pairs + pair] : 0
                            XCTAssertEqual(packed[(t * groups + g) * 256 + r * 16 + q], expected, "\(m)×\(k): row \(row), pair \(pair)")
                        }
                    }
                }
            }
        }
    }
}
