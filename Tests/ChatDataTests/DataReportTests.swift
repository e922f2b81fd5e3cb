import Foundation
import XCTest
@testable import ChatData

final class DataReportTests: XCTestCase {
    let fake = FakeTokenizer()

    func testRenderMarksTrainedSpans() {
        // "ab" untrained, "cd" trained, "e" untrained, "f" trained.
        let example = Example(record: 4, ids: [97, 98, 99, 100, 101, 102], trained: [0, 0, 1, 1, 0, 1], category: "Chat")
        let plain = DataReport.renderExample(example, tokenizer: fake, colour: false)
        XCTAssertEqual(plain, "record 4 (Chat): 6 tokens, 3 trained\nab[[cd]]e[[f]]\n")
        let coloured = DataReport.renderExample(example, tokenizer: fake, colour: true)
        XCTAssertTrue(coloured.hasSuffix("ab\u{1B}[32mcd\u{1B}[0me\u{1B}[32mf\u{1B}[0m\n"))
    }

    func testDumpLinesAreJSONInGivenOrder() throws {
        let examples = [Example(record: 7, ids: [1000, 5, 6], trained: [0, 1, 1]),
                        Example(record: 2, ids: [1000, 9], trained: [0, 1])]
        XCTAssertEqual(DataReport.dumpLine(examples[0]), #"{"record": 7, "ids": [1000, 5, 6], "trained": [0, 1, 1]}"#)
        let path = try temporaryFile("old content", name: "dump.jsonl")
        try DataReport.writeDump(examples, to: path)
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 2)
        let second = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: Any])
        XCTAssertEqual(second["record"] as? Int, 2)
        XCTAssertEqual(second["ids"] as? [Int], [1000, 9])
        XCTAssertEqual(second["trained"] as? [Int], [0, 1])
    }

    func testStatsTextHasCountsReasonsAndPercentiles() throws {
        let lines = [
            #"{"messages": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}]}"#,
            #"{"messages": [{"role": "user", "content": "Q"}]}"#,
            "not json at all {",
            #"{"messages": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "AAAA"}]}"#,
        ]
        let path = try temporaryFile(lines.joined(separator: "\n"))
        let prepared = try DataPipeline.prepare(DataOptions(train: path, template: .llama3, maxSeqLen: 100,
                                                            onInvalid: .skip), tokenizer: fake)
        let text = DataReport.statsText(prepared.stats)
        XCTAssertTrue(text.contains("records: 4 read, 2 valid, 2 skipped (malformed_json 1, no_assistant 1)"), text)
        XCTAssertTrue(text.contains("examples: 2 train, 0 eval; 0 truncated"), text)
        // Lengths 13 and 16; trained targets 2 and 5 → 7 of 29 tokens.
        XCTAssertTrue(text.contains("tokens (train): 29 total, 7 trained (24.1 %)"), text)
        XCTAssertTrue(text.contains("lengths (train): p50 13, p90 16, p99 16, max 16"), text)
        XCTAssertTrue(text.contains("\(path):3:"), "shows where records were skipped")
    }

    func testNearestRankPercentiles() {
        let sorted = Array(1...100)
        XCTAssertEqual(TokenStats.nearestRank(sorted, 50), 50)
        XCTAssertEqual(TokenStats.nearestRank(sorted, 90), 90)
        XCTAssertEqual(TokenStats.nearestRank(sorted, 99), 99)
        XCTAssertEqual(TokenStats.nearestRank([5], 50), 5)
        XCTAssertEqual(TokenStats.nearestRank([], 50), 0)
        XCTAssertEqual(TokenStats.nearestRank([1, 2, 3], 50), 2)
    }
}
