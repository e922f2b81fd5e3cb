import Foundation
import TestSupport
import Tokenizer
import XCTest
@testable import ChatData

/// Every golden record of `golden/chat` (ids + trained mask, generation prompts) with the real tokenizer,
/// loaded from both `tokenizer.json` and `tokenizer.model`.
final class ChatTemplateGoldenTests: XCTestCase {
    nonisolated(unsafe) static var loaded: [String: Tokenizer] = [:]

    static func tokenizer(_ file: String) throws -> Tokenizer {
        if let t = loaded[file] { return t }
        let t = try Tokenizer.load(path: try SharedFixtures.path("assets/llama3-tokenizer/\(file)").path)
        loaded[file] = t
        return t
    }

    static func jsonLines(_ relative: String) throws -> [[String: Any]] {
        let data = try Data(contentsOf: try SharedFixtures.path(relative))
        return try data.split(separator: 0x0A).filter { !$0.isEmpty }.map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0)) as? [String: Any])
        }
    }

    /// Conversations parsed directly (independent of DatasetReader).
    static func conversations() throws -> [[Message]] {
        try jsonLines("golden/chat/conversations.jsonl").map { record in
            try XCTUnwrap(record["messages"] as? [[String: Any]]).map { m in
                Message(role: try XCTUnwrap(Role(rawValue: try XCTUnwrap(m["role"] as? String))),
                        content: try XCTUnwrap(m["content"] as? String))
            }
        }
    }

    func template(_ name: String) throws -> ChatTemplate { try XCTUnwrap(ChatTemplate(rawValue: name)) }

    func checkExpected(_ file: String) throws {
        let tokenizer = try Self.tokenizer(file)
        let conversations = try Self.conversations()
        let expected = try Self.jsonLines("golden/chat/chat_expected.jsonl")
        XCTAssertEqual(expected.count, 2 * conversations.count)
        var seen: Set<String> = []
        for record in expected {
            let index = try XCTUnwrap(record["index"] as? Int)
            let name = try XCTUnwrap(record["template"] as? String)
            seen.insert(name)
            let renderer = try ChatRenderer(template: try template(name), tokenizer: tokenizer)
            let chat = renderer.render(conversations[index])
            let ids = try XCTUnwrap(record["ids"] as? [Int])
            let trained = try XCTUnwrap(record["trained"] as? [Int]).map(UInt8.init)
            XCTAssertEqual(chat.ids, ids, "\(file) \(name) record \(index): ids")
            XCTAssertEqual(chat.trained, trained, "\(file) \(name) record \(index): trained")
            XCTAssertEqual(chat.trained.reduce(0) { $0 + Int($1) }, record["num_trained"] as? Int)
            XCTAssertEqual(chat.ids.first, 128000, "BOS at index 0")
            XCTAssertEqual(chat.ids.filter { $0 == 128000 }.count, 1, "exactly one BOS")
        }
        XCTAssertEqual(seen, ["llama3", "llama3.1"])
    }

    func checkGeneration(_ file: String) throws {
        let tokenizer = try Self.tokenizer(file)
        let conversations = try Self.conversations()
        let expected = try Self.jsonLines("golden/chat/chat_generation_expected.jsonl")
        XCTAssertFalse(expected.isEmpty)
        for record in expected {
            let index = try XCTUnwrap(record["index"] as? Int)
            let name = try XCTUnwrap(record["template"] as? String)
            let count = try XCTUnwrap(record["num_messages"] as? Int)
            let renderer = try ChatRenderer(template: try template(name), tokenizer: tokenizer)
            let chat = renderer.render(Array(conversations[index].prefix(count)), addGenerationPrompt: true)
            XCTAssertEqual(chat.ids, try XCTUnwrap(record["ids"] as? [Int]), "\(file) \(name) record \(index)")
            XCTAssertEqual(Array(chat.ids.suffix(4)), [128006, 78191, 128007, 271])
            XCTAssertEqual(chat.ids.filter { $0 == 128000 }.count, 1)
        }
    }

    func testEveryRecordWithTokenizerJSON() throws { try checkExpected("tokenizer.json") }
    func testEveryRecordWithTokenizerModel() throws { try checkExpected("tokenizer.model") }
    func testGenerationPromptsWithTokenizerJSON() throws { try checkGeneration("tokenizer.json") }
    func testGenerationPromptsWithTokenizerModel() throws { try checkGeneration("tokenizer.model") }

    /// The whole pipeline on the golden file gives the golden examples, in dataset order, with the stats
    /// the file implies.
    func testPipelineOnGoldenConversations() throws {
        let tokenizer = try Self.tokenizer("tokenizer.json")
        let path = try SharedFixtures.path("golden/chat/conversations.jsonl").path
        let expected = try Self.jsonLines("golden/chat/chat_expected.jsonl")
        let report = try XCTUnwrap(JSONSerialization.jsonObject(
            with: Data(contentsOf: try SharedFixtures.path("golden/chat/REPORT.json"))) as? [String: Any])
        let chat = try XCTUnwrap(report["chat"] as? [String: Any])
        let conversations = try Self.conversations()
        for (name, template) in [("llama3", ChatTemplate.llama3), ("llama3.1", .llama31)] {
            let options = DataOptions(train: path, template: template, maxSeqLen: 100_000)
            let prepared = try DataPipeline.prepare(options, tokenizer: tokenizer)
            let golden = expected.filter { $0["template"] as? String == name }
            XCTAssertEqual(prepared.train.count, golden.count)
            for (example, record) in zip(prepared.train, golden) {
                XCTAssertEqual(example.record, record["index"] as? Int)
                XCTAssertEqual(example.ids, record["ids"] as? [Int])
                XCTAssertEqual(example.trained.map(Int.init), record["trained"] as? [Int])
            }
            // REPORT counts records over both templates.
            XCTAssertEqual(prepared.stats.specialTextExamples * 2, chat["special_text_conversations"] as? Int)
            XCTAssertEqual(prepared.stats.endingWithoutAssistant,
                           conversations.filter { $0.last?.role != .assistant }.count)
            XCTAssertEqual(prepared.stats.records, conversations.count)
            XCTAssertEqual(prepared.stats.valid, conversations.count)
            XCTAssertEqual(prepared.stats.train.tokens, golden.reduce(0) { $0 + ($1["num_tokens"] as? Int ?? 0) })
            XCTAssertEqual(prepared.stats.train.trainedTargets, golden.reduce(0) { $0 + ($1["num_trained"] as? Int ?? 0) },
                           "BOS is never trained, so every trained token is a target")
        }
    }
}
