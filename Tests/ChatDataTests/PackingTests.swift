import XCTest
@testable import ChatData

final class PackingTests: XCTestCase {
    /// Examples of the given lengths; token values encode (example, position) so rows can be checked.
    func examples(_ lengths: [Int]) -> [Example] {
        lengths.enumerated().map { i, n in
            Example(record: i, ids: (0..<n).map { i * 1000 + $0 }, trained: [0] + [UInt8](repeating: 1, count: n - 1))
        }
    }

    func testWithoutPackingEachRowIsOneExample() {
        let ex = examples([3, 5, 2])
        let batches = makeMicroBatches(ex, batchSize: 2, packing: false, maxSeqLen: 8, shuffle: false, seed: 0, epoch: 0)
        XCTAssertEqual(batches.count, 2)
        XCTAssertEqual(batches[0].rows.map(\.examples), [[0], [1]])
        XCTAssertEqual(batches[1].rows.map(\.examples), [[2]], "the last micro-batch may be smaller")
        XCTAssertEqual(batches[0].rows[1].ids, ex[1].ids)
        XCTAssertEqual(batches[0].rows[1].documentLengths, [5])
        XCTAssertEqual(batches[0].trainedTargets, 2 + 4)
        XCTAssertEqual(batches[0].tokenCount, 8)
    }

    func testGreedyPackingInOrder() {
        let ex = examples([3, 4, 2, 6, 1, 5])
        let rows = packRows(ex, order: Array(ex.indices), maxSeqLen: 8, packing: true)
        // next-fit: [3,4] (7; +2 > 8), [2,6] (8), [1,5] (6)
        XCTAssertEqual(rows.map(\.examples), [[0, 1], [2, 3], [4, 5]])
        XCTAssertEqual(rows.map(\.documentLengths), [[3, 4], [2, 6], [1, 5]])
        for row in rows {
            XCTAssertLessThanOrEqual(row.ids.count, 8)
            XCTAssertEqual(row.documentLengths.reduce(0, +), row.ids.count)
            XCTAssertEqual(row.trained.count, row.ids.count)
            XCTAssertEqual(row.ids, row.examples.flatMap { ex[$0].ids })
        }
        XCTAssertEqual(rows[0].positions, [0, 1, 2, 0, 1, 2, 3])
    }

    func testPackedEpochCoversEveryExampleOnce() {
        let lengths = (0..<200).map { 1 + ($0 * 37) % 50 }
        let ex = examples(lengths)
        for epoch in 0..<3 {
            let batches = makeMicroBatches(ex, batchSize: 3, packing: true, maxSeqLen: 64, shuffle: true, seed: 5,
                                           epoch: epoch)
            let visited = batches.flatMap { $0.rows.flatMap(\.examples) }
            XCTAssertEqual(visited, epochOrder(count: ex.count, seed: 5, epoch: epoch), "packing keeps permutation order")
            XCTAssertTrue(batches.allSatisfy { $0.rows.allSatisfy { $0.ids.count <= 64 } })
            XCTAssertTrue(batches.dropLast().allSatisfy { $0.rows.count == 3 })
            XCTAssertLessThan(batches.flatMap(\.rows).count, ex.count, "rows hold several documents")
            XCTAssertEqual(batches.reduce(0) { $0 + $1.trainedTargets }, ex.reduce(0) { $0 + $1.trainedTargets })
        }
        XCTAssertEqual(makeMicroBatches(ex, batchSize: 3, packing: true, maxSeqLen: 64, shuffle: true, seed: 5, epoch: 1),
                       makeMicroBatches(ex, batchSize: 3, packing: true, maxSeqLen: 64, shuffle: true, seed: 5, epoch: 1))
    }

    func testFirstTokenOfEachDocumentIsNeverATarget() {
        // Every token marked trained, including each document's first: only t ≥ 1 per document count.
        let a = Example(record: 0, ids: [1, 2, 3], trained: [1, 1, 1])
        let b = Example(record: 1, ids: [4, 5], trained: [1, 1])
        let rows = packRows([a, b], order: [0, 1], maxSeqLen: 10, packing: true)
        XCTAssertEqual(rows.count, 1)
        XCTAssertEqual(rows[0].trainedTargets, 2 + 1)
        XCTAssertEqual(MicroBatch(rows: rows).trainedTargets, 3)
        XCTAssertEqual(a.trainedTargets, 2)
    }

    func testOverlongExampleGetsItsOwnRow() {
        let ex = examples([3, 12, 2])
        let rows = packRows(ex, order: [0, 1, 2], maxSeqLen: 8, packing: true)
        XCTAssertEqual(rows.map(\.examples), [[0], [1], [2]])
    }
}
