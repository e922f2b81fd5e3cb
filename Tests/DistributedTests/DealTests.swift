import Distributed
import XCTest

final class DealTests: XCTestCase {
    /// Blocks are contiguous, in rank order, cover every item once, and differ in size by at most one.
    func testBlocksCoverInOrder() {
        for size in 1...5 {
            for total in 0...13 {
                let blocks = (0..<size).map { Deal.share(of: total, rank: $0, size: size) }
                XCTAssertEqual(blocks.flatMap { Array($0) }, Array(0..<total), "total \(total), size \(size)")
                let counts = blocks.map(\.count)
                XCTAssertLessThanOrEqual(counts.max()! - counts.min()!, 1)
                XCTAssertEqual(counts, counts.sorted(by: >), "larger blocks first")
            }
        }
    }

    func testExamples() {
        // grad_accum 4 on 3 ranks: 2 + 1 + 1; one micro-batch on 2 ranks: rank 1 idle.
        XCTAssertEqual((0..<3).map { Deal.share(of: 4, rank: $0, size: 3) }, [0..<2, 2..<3, 3..<4])
        XCTAssertEqual((0..<2).map { Deal.share(of: 1, rank: $0, size: 2) }, [0..<1, 1..<1])
    }

    func testSingleProcessIsIdentity() throws {
        let world = SingleProcess()
        XCTAssertEqual(world.rank, 0)
        XCTAssertEqual(world.size, 1)
        var values = [1.5, -2.0]
        try world.sum(&values)
        XCTAssertEqual(values, [1.5, -2.0])
        var floats: [Float] = [3, 4]
        try floats.withUnsafeMutableBufferPointer { try world.sum($0.baseAddress!, count: 2) }
        XCTAssertEqual(floats, [3, 4])
        XCTAssertEqual(try world.gather([1, 2, 3]), [[1, 2, 3]])
        XCTAssertEqual(try world.broadcast([9]), [9])
        XCTAssertEqual(world.share(of: 4), 0..<4)
    }
}
