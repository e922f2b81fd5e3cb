import Foundation
@testable import Tensors
import XCTest

/// precision bf16 keeps one packed copy of each frozen weight: the backward panels rebuilt from the
/// forward ones must be `BF16Panels.backward(W)` word for word, the products must not change when the
/// stored base is released, and every reader then gets the packed bf16 values.
final class BF16PanelsTests: XCTestCase {
    /// Values in [-1, 1], many below 2⁻⁸ so rounding matters; a few exact zeros and a denormal.
    func matrix(_ rows: Int, _ columns: Int, seed: UInt64) -> Tensor {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        let t = Tensor(uninitialized: [rows, columns])
        for i in 0..<t.count {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            t[i] = Float(state % 2_000_001) / 1_000_000 - 1
        }
        if t.count > 2 { t[1] = 0; t[2] = Float(bitPattern: 0x0000_0101) }
        return t
    }

    func words(_ p: BF16Panels) -> [UInt32] { Array(UnsafeBufferPointer(start: p.words, count: p.wordCount)) }

    /// [out, in]: whole and partial panels both ways, odd out (a padded pair), odd in (a half word of
    /// padding), out below one panel, and more forward pairs than one backward panel covers.
    let shapes = [(64, 64), (45, 70), (33, 7), (7, 33), (1, 1), (96, 601), (601, 96), (130, 2)]

    func testRepackedBackwardPanelsEqualTheBackwardPackingWordForWord() {
        for (index, (out, inF)) in shapes.enumerated() {
            let w = FrozenWeight(matrix(out, inF, seed: UInt64(index + 1)))
            let expected = BF16Panels.backward(w)
            let forward = BF16Panels.forward(w)
            // Garbage in the target first: every word, padding included, must be written.
            let buffer = UnsafeMutablePointer<UInt32>.allocate(capacity: expected.wordCount)
            defer { buffer.deallocate() }
            buffer.initialize(repeating: 0xDEAD_BEEF, count: expected.wordCount)
            let view = BF16Panels(k: out, n: inF, borrowing: buffer)
            XCTAssertEqual(view.wordCount, expected.wordCount)
            view.repackBackward(from: forward)
            XCTAssertEqual(words(view), words(expected), "[\(out), \(inF)]")
        }
    }

    /// The products through the shared scratch, alternating weights (each refill must be the right
    /// one), equal the products with panels packed from W directly, bit for bit.
    func testBackwardProductsThroughTheScratchEqualDirectPanels() {
        let weights = [(45, 70), (96, 601), (33, 7)].enumerated().map { FrozenWeight(matrix($1.0, $1.1, seed: UInt64(20 + $0))) }
        for w in weights { w.packBF16() }
        for round in 0..<2 {
            for (i, w) in weights.enumerated() {
                let m = 5 + i, dy = matrix(m, w.rows, seed: UInt64(40 + i + round))
                let viaScratch = Tensor(zeros: [m, w.columns]), direct = Tensor(zeros: [m, w.columns])
                // The rebuilt panels every kernel but amx reads (amx builds them inside the GEMM; BF16GEMMTests).
                let kernel: BF16Kernel = BF16Kernel.best == .amx ? .portableAMX : .best
                w.bf16!.withBackward { bf16gemm(m: m, dy.data, lda: w.rows, $0, accumulate: false, viaScratch.data, ldc: w.columns, kernel: kernel) }
                bf16gemm(m: m, dy.data, lda: w.rows, BF16Panels.backward(w), accumulate: false, direct.data, ldc: w.columns, kernel: kernel)
                XCTAssertEqual(viaScratch.array.map(\.bitPattern), direct.array.map(\.bitPattern), "weight \(i), round \(round)")
            }
        }
        XCTAssertGreaterThanOrEqual(BF16BackwardScratch.shared.byteCount, BF16Panels.backward(weights[1]).byteCount)
    }

    func testReleasedWeightReadsItsBF16ValuesAndComputesTheSame() {
        let t = matrix(45, 70, seed: 7)
        let w = FrozenWeight(t.copy())
        w.packBF16()
        let m = 6, x = matrix(m, 70, seed: 8), dy = matrix(m, 45, seed: 9)
        func products() -> [UInt32] {
            let y = Tensor(zeros: [m, 45]), dx = Tensor(shape: [m, 70], repeating: 0.5)
            w.forwardProduct(m: m, x.data, ldx: 70, y.data, ldy: 45)
            w.backwardProduct(m: m, dy.data, lddy: 45, dx.data, lddx: 70, beta: 1)
            return (y.array + dx.array).map(\.bitPattern)
        }
        let before = products()
        w.releaseBaseForBF16(fileMapped: false)
        guard case .bf16Panels = w.storage else { return XCTFail("the base was kept") }
        XCTAssertNil(w.float32Pointer)
        XCTAssertEqual(products(), before)
        let rounded = t.array.map { Float(bitPattern: UInt32(floatToBF16($0)) << 16) }
        XCTAssertEqual(w.toTensor().array.map(\.bitPattern), rounded.map(\.bitPattern))
        let row = Tensor(zeros: [70])
        w.copyRow(44, to: row.data)
        XCTAssertEqual(row.array, Array(rounded[(44 * 70)..<(45 * 70)]))
    }

    /// fp32 parts stacked into one matrix (q, k, v) are views of it: released with the stack, each
    /// reads its own rows of the panels, and nothing holds the fp32 matrix any more.
    func testStackedPartsBecomeTheirRowsOfThePanels() {
        let parts = [matrix(40, 33, seed: 11), matrix(8, 33, seed: 12), matrix(8, 33, seed: 13)]
        let (stacked, views) = FrozenWeight.stack(parts.map { FrozenWeight($0) })
        weak var whole: AnyObject?
        if case .float32(let tensor) = stacked.storage { whole = tensor } else { XCTFail("expected an fp32 stack") }
        stacked.packBF16()
        stacked.releaseBaseForBF16(fileMapped: false, parts: views)
        XCTAssertNil(whole, "the stacked fp32 matrix is still alive")
        for (part, view) in zip(parts, views) {
            let rounded = part.array.map { Float(bitPattern: UInt32(floatToBF16($0)) << 16) }
            XCTAssertEqual(view.toTensor().array, rounded)
        }
    }

    /// 16-bit rows in a read-only file mapping: after the release the mapping is still readable (the
    /// pages come back from the file) and the weight reads the same bf16 values.
    func testReleasingMappedPagesKeepsTheFileReadable() throws {
        let count = 3 * 4096 + 100
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bf16-pages-\(getpid()).bin").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let source = matrix(1, count, seed: 5)
        var halves = [UInt16](repeating: 0, count: count)
        convertFloatToBF16(source.data, &halves, count: count)
        try halves.withUnsafeBytes { Data($0) }.write(to: URL(fileURLWithPath: path))
        let fd = open(path, O_RDONLY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        let map = mmap(nil, count * 2, PROT_READ, MAP_PRIVATE, fd, 0)!
        close(fd)
        defer { munmap(map, count * 2) }
        let p = map.assumingMemoryBound(to: UInt16.self)
        let w = FrozenWeight(rows: 3, columns: count / 3, storage: .bfloat16(p + 1), owner: nil)  // an odd start
        let before = w.toTensor().array
        w.packBF16()
        w.releaseBaseForBF16(fileMapped: true)
        XCTAssertEqual(w.toTensor().array, before)
        XCTAssertEqual(Array(UnsafeBufferPointer(start: p, count: count)), halves)
    }
}
