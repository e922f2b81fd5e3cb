@testable import Autodiff
import Tensors
import XCTest

/// The AVX-512 row kernels of attention (softmax, exp from the log-sum-exp, softmax backward) against
/// the Swift loops they replace: the very same bits, so fp32 runs may use them.
final class AttentionRowKernelTests: XCTestCase {
    /// Row tiles of a causal block that start at row 0, in the middle, end ragged, are shorter or longer
    /// than 16 lanes, and a segment whose rows lie beyond the first 64.
    let tiles: [Range<Int>] = [0..<1, 0..<20, 3..<17, 16..<33, 64..<128, 130..<150, 171..<200]

    /// Scores over a wide range: rows whose exp underflows past the clamp, ties, and large magnitudes.
    func scores(_ count: Int, seed: UInt64) -> [Float] {
        (0..<count).map { i in
            let u = DropoutMask.uniform(seed: seed, index: i) * 2 - 1
            switch i % 7 {
            case 0: return u * 150
            case 1: return 3
            default: return u * 8
            }
        }
    }

    func geometry(heads: Int) -> AttentionGeometry {
        AttentionGeometry(heads: heads, kvHeads: 1, headDim: 64, rows: 200, segments: [Segment(start: 0, length: 200)], products: .openBLAS)
    }


    func requireAVX512() throws {
        guard CPUInfo.current.avx512f else { throw XCTSkip("no AVX-512F on this CPU: only the Swift loops run here") }
    }

    func testSoftmaxRowsAndLogSumExpAreBitIdentical() throws {
        try requireAVX512()
        let heads = 3, ld = 203, g = geometry(heads: heads)
        for (t, tile) in tiles.enumerated() {
            func run(_ avx512: Bool) -> ([Float], [Float]) {
                var s = scores(tile.count * ld, seed: UInt64(10 + t))
                var lse = [Float](repeating: .nan, count: tile.count * heads)
                s.withUnsafeMutableBufferPointer { sp in
                    lse.withUnsafeMutableBufferPointer { g.softmaxRows(sp.baseAddress!, ld: ld, rows: tile, lse: $0.baseAddress!, avx512: avx512) }
                }
                return (s, lse)
            }
            let (swift, c) = (run(false), run(true))
            assertSameBits(c.0, swift.0, "probabilities, tile \(tile)")
            assertSameBits(c.1, swift.1, "log-sum-exp, tile \(tile)")
            // The tile's first row has keys 0...i0 and zeros after them up to the tile's width.
            XCTAssertEqual(Array(c.0[(tile.lowerBound + 1)..<tile.upperBound]), [Float](repeating: 0, count: tile.count - 1), "tile \(tile)")
            XCTAssertEqual(c.0[0...tile.lowerBound].reduce(0, +), 1, accuracy: 1e-5, "tile \(tile)")
        }
    }

    func testExpRowsAreBitIdentical() throws {
        try requireAVX512()
        let heads = 2, ld = 200, g = geometry(heads: heads)
        for (t, tile) in tiles.enumerated() {
            let lse = scores(tile.count * heads, seed: UInt64(30 + t)).map { abs($0) }
            func run(_ avx512: Bool) -> [Float] {
                var s = scores(tile.count * ld, seed: UInt64(40 + t))
                s.withUnsafeMutableBufferPointer { g.expRows($0.baseAddress!, ld: ld, rows: tile, lse: lse, avx512: avx512) }
                return s
            }
            assertSameBits(run(true), run(false), "tile \(tile)")
        }
    }

    func testSoftmaxGradRowsAreBitIdentical() throws {
        try requireAVX512()
        let ld = 201, g = geometry(heads: 1)
        for (t, tile) in tiles.enumerated() {
            let p = scores(tile.count * ld, seed: UInt64(50 + t)).map { abs($0) / 150 }
            func run(_ avx512: Bool) -> [Float] {
                var dp = scores(tile.count * ld, seed: UInt64(60 + t))
                dp.withUnsafeMutableBufferPointer { g.softmaxGradRows(p, $0.baseAddress!, ld: ld, rows: tile, avx512: avx512) }
                return dp
            }
            let c = run(true)
            assertSameBits(c, run(false), "tile \(tile)")
            XCTAssertNotEqual(c.filter { $0 != 0 }.count, 0)
        }
    }
}

/// SwiGLU's AVX-512 kernels against its Swift loops: the same bits forward and backward (overwriting and
/// accumulating gradients), on lengths with and without a partial 16-lane tail.
final class SwiGLUKernelTests: XCTestCase {
    func testAVX512KernelsAreBitIdentical() throws {
        guard CPUInfo.current.avx512f else { throw XCTSkip("no AVX-512F on this CPU: only the Swift loops run here") }
        for (n, seed) in [(1, UInt64(1)), (37, 2), (48, 3), (40_003, 4)] {
            let g = randomTensor([n], seed: seed, scale: 12), u = randomTensor([n], seed: seed + 10), dh = randomTensor([n], seed: seed + 20)
            g[0] = 0; if n > 2 { g[1] = -0.0; g[2] = 100 }
            let hs = (Tensor(uninitialized: [n]), Tensor(uninitialized: [n]))
            Tape.swigluForward(gate: g, up: u, into: hs.0, avx512: false)
            Tape.swigluForward(gate: g, up: u, into: hs.1, avx512: true)
            assertSameBits(hs.1.array, hs.0.array, "forward, n \(n)")
            for (gateGrad, upGrad, passes) in [(true, true, 1), (true, true, 2), (true, false, 1), (false, true, 2)] {
                func run(_ avx512: Bool) -> [[Float]] {
                    let gate = Variable(g, requiresGrad: gateGrad), up = Variable(u, requiresGrad: upGrad)
                    for _ in 0..<passes { Tape.swigluBackward(gate: gate, up: up, dh: dh, avx512: avx512) }
                    return [gate.grad?.array ?? [], up.grad?.array ?? []]
                }
                let (swift, c) = (run(false), run(true))
                for (a, b) in zip(swift, c) {
                    assertSameBits(b, a, "backward n \(n) gate \(gateGrad) up \(upGrad) passes \(passes)")
                }
                XCTAssertEqual(c.map(\.count), [gateGrad ? n : 0, upGrad ? n : 0])
            }
        }
    }
}

/// Fails with the first differing element (and how many differ) unless `a` and `b` hold the same bits.
func assertSameBits(_ a: [Float], _ b: [Float], _ message: String, file: StaticString = #filePath, line: UInt = #line) {
    guard a.count == b.count else { return XCTFail("\(message): \(a.count) vs \(b.count) elements", file: file, line: line) }
    let differing = a.indices.filter { a[$0].bitPattern != b[$0].bitPattern }
    if let i = differing.first {
        XCTFail("\(message): \(differing.count) of \(a.count) elements differ, first [\(i)] \(a[i]) vs \(b[i])", file: file, line: line)
    }
}
