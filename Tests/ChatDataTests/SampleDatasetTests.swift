import Foundation
import XCTest
@testable import ChatData

/// The project's own `datasets/no_robots_sample` through the whole pipeline with the real tokenizer.
final class SampleDatasetTests: XCTestCase {
    func samplePath(_ name: String) throws -> String {
        // Tests/ChatDataTests/<this file> → project root.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let path = root.appendingPathComponent("datasets/no_robots_sample/\(name)").path
        // The sample is committed: missing is a failure, never a skip.
        guard FileManager.default.fileExists(atPath: path) else {
            XCTFail("no sample dataset at \(path)")
            throw CocoaError(.fileNoSuchFile)
        }
        return path
    }

    func testSampleDatasetPreparesCleanly() throws {
        let tokenizer = try ChatTemplateGoldenTests.tokenizer("tokenizer.json")
        let options = DataOptions(train: try samplePath("train.jsonl"), eval: try samplePath("test.jsonl"),
                                  template: .llama31, maxSeqLen: 2048)
        let prepared = try DataPipeline.prepare(options, tokenizer: tokenizer)
        let stats = prepared.stats
        // datasets/README.md: 223 train + 50 test records, all ending with an assistant message.
        XCTAssertEqual(stats.records, 273)
        XCTAssertEqual(stats.valid, 273)
        XCTAssertEqual(stats.skippedTotal, 0)
        XCTAssertEqual(stats.endingWithoutAssistant, 0)
        XCTAssertEqual(prepared.train.count, 223)
        XCTAssertEqual(prepared.eval.count, 50)
        XCTAssertEqual(Set(prepared.train.compactMap(\.category)).count, 10)
        for example in prepared.train + prepared.eval {
            XCTAssertEqual(example.ids.first, 128000)
            XCTAssertEqual(example.ids.filter { $0 == 128000 }.count, 1)
            // Ends with the last assistant turn's <|eot_id|>, trained.
            XCTAssertEqual(example.ids.last, 128009)
            XCTAssertEqual(example.trained.last, 1)
            XCTAssertGreaterThan(example.trainedTargets, 1)
        }
        XCTAssertGreaterThan(stats.train.trainedFraction, 0.1)
        XCTAssertLessThan(stats.train.trainedFraction, 0.9)
    }
}
