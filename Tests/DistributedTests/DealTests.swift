import Distributed
import XCTest

final class DealTests: XCTestCase {
    /// Round robin: every item once, round i holds items i·N ..< (i+1)·N, per-rank counts differ by at most one.
    func testRoundsFollowTheOneProcessOrder() {
        for size in 1...5 {
            for total in 0...13 {
                let shares = (0..<size).map { Array(Deal.share(of: total, rank: $0, size: size)) }
                XCTAssertEqual(shares.flatMap { $0 }.sorted(), Array(0..<total), "total \(total), size \(size)")
                let counts = shares.map(\.count)
                XCTAssertLessThanOrEqual(counts.max()! - counts.min()!, 1)
                for round in 0..<Deal.rounds(of: total, size: size) {
                    let inRound = shares.compactMap { $0.count > round ? $0[round] : nil }
                    XCTAssertEqual(inRound, Array(round * size ..< round * size + inRound.count))
                    XCTAssertEqual(inRound.count, Deal.contributors(round: round, of: total, size: size))
                }
            }
        }
    }

    func testExamples() {
        // grad_accum 4 on 3 ranks: rank 0 takes micro-batches 0 and 3; one micro-batch on 2 ranks: rank 1 idle.
        XCTAssertEqual((0..<3).map { Array(Deal.share(of: 4, rank: $0, size: 3)) }, [[0, 3], [1], [2]])
        XCTAssertEqual((0..<2).map { Array(Deal.share(of: 1, rank: $0, size: 2)) }, [[0], []])
        XCTAssertEqual(Deal.contributors(round: 1, of: 4, size: 3), 1)
    }

    func testSingleProcessIsIdentity() throws {
        let world = SingleProcess()
        XCTAssertEqual(world.rank, 0)
        XCTAssertEqual(world.size, 1)
        var values = [1.5, -2.0]
        try world.sum(&values)
        XCTAssertEqual(values, [1.5, -2.0])
        let a: [Float] = [3, 4], b: [Float] = [0.5, -1]
        var out: [Float] = [0, 0]
        try world.accumulate(a, count: 2, contributors: 1, first: true)
        try world.accumulate(b, count: 2, contributors: 1, first: false)
        try out.withUnsafeMutableBufferPointer { try world.collectSum(into: $0.baseAddress!, count: 2) }
        XCTAssertEqual(out, [3.5, 3])
        XCTAssertEqual(try world.gather([1, 2, 3]), [[1, 2, 3]])
        XCTAssertEqual(try world.broadcast([9]), [9])
        XCTAssertEqual(Array(world.share(of: 4)), [0, 1, 2, 3])
    }
}
