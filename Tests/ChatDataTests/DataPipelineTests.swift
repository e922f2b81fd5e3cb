import Foundation
import XCTest
@testable import ChatData

final class DataPipelineTests: XCTestCase {
    let fake = FakeTokenizer()

    func record(user: String, assistant: String, category: String? = nil) -> String {
        let escaped = { (s: String) in s.replacingOccurrences(of: "\"", with: "\\\"") }
        var line = #"{"messages": [{"role": "user", "content": "\#(escaped(user))"}, {"role": "assistant", "content": "\#(escaped(assistant))"}]"#
        if let category { line += #", "category": "\#(category)""# }
        return line + "}"
    }

    func testTruncationKeepsTheStartAndDropsUntrained() throws {
        let long = String(repeating: "x", count: 40)
        let path = try temporaryFile([
            record(user: "Q", assistant: "A"),    // BOS + user turn 6 + header 4 + "A" + eot = 13 tokens
            record(user: "Q", assistant: long),   // 1 + 6 + 4 + 40 + 1 = 52 → cut to 20: content from index 11 → 9 trained
            record(user: long, assistant: "A"),   // 1 + 4 + 40 + 1 = 46 before the assistant header → nothing trained left
        ].joined(separator: "\n"))
        let options = DataOptions(train: path, template: .llama3, maxSeqLen: 20)
        let prepared = try DataPipeline.prepare(options, tokenizer: fake)
        XCTAssertEqual(prepared.train.map(\.record), [0, 1])
        XCTAssertEqual(prepared.stats.truncated, 1, "kept and cut; the cut-and-dropped one counts as dropped")
        XCTAssertEqual(prepared.stats.droppedUntrained, 1)
        XCTAssertEqual(prepared.stats.dropped, 1)
        let full = try ChatRenderer(template: .llama3, tokenizer: fake)
            .render([Message(role: .user, content: "Q"), Message(role: .assistant, content: long)])
        XCTAssertEqual(prepared.train[1].ids, Array(full.ids.prefix(20)))
        XCTAssertEqual(prepared.train[1].trained, Array(full.trained.prefix(20)))
        XCTAssertEqual(prepared.train[1].trainedTargets, 20 - 11)
        for example in prepared.train {
            XCTAssertLessThanOrEqual(example.count, 20)
            XCTAssertEqual(example.ids.first, 1000)
            XCTAssertEqual(example.ids.filter { $0 == 1000 }.count, 1)
        }

        var dropping = options
        dropping.truncation = .drop
        let dropped = try DataPipeline.prepare(dropping, tokenizer: fake)
        XCTAssertEqual(dropped.train.map(\.record), [0])
        XCTAssertEqual(dropped.stats.droppedTooLong, 2)
        XCTAssertEqual(dropped.stats.truncated, 0)
    }

    func testSystemPromptSpecialTextAndTrailingUserAreCounted() throws {
        let path = try temporaryFile([
            record(user: "Q", assistant: "A"),
            #"{"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "say <|eot_id|>"}, {"role": "assistant", "content": "A"}, {"role": "user", "content": "thanks"}]}"#,
        ].joined(separator: "\n"))
        let options = DataOptions(train: path, template: .llama3, systemPrompt: "Be kind.", maxSeqLen: 1000)
        let prepared = try DataPipeline.prepare(options, tokenizer: fake)
        XCTAssertEqual(prepared.stats.systemPromptAdded, 1)
        XCTAssertEqual(prepared.stats.specialTextExamples, 1)
        XCTAssertEqual(prepared.stats.endingWithoutAssistant, 1)
        let expected = try ChatRenderer(template: .llama3, tokenizer: fake).render([
            Message(role: .system, content: "Be kind."), Message(role: .user, content: "Q"),
            Message(role: .assistant, content: "A")])
        XCTAssertEqual(prepared.train[0].ids, expected.ids)
    }

    func testEvalFileAndEvalFraction() throws {
        let lines = (0..<40).map { record(user: "q\($0)", assistant: "a\($0)", category: $0 % 2 == 0 ? "Chat" : "Coding") }
        let path = try temporaryFile(lines.joined(separator: "\n"))
        let evalPath = try temporaryFile(lines.prefix(3).joined(separator: "\n"))

        let withFile = try DataPipeline.prepare(DataOptions(train: path, eval: evalPath, maxSeqLen: 1000), tokenizer: fake)
        XCTAssertEqual(withFile.train.count, 40)
        XCTAssertEqual(withFile.eval.map(\.record), [0, 1, 2])
        XCTAssertEqual(withFile.stats.files.count, 2)
        XCTAssertEqual(withFile.stats.records, 43)

        let options = DataOptions(train: path, evalFraction: 0.25, maxSeqLen: 1000, seed: 9)
        let a = try DataPipeline.prepare(options, tokenizer: fake)
        let b = try DataPipeline.prepare(options, tokenizer: fake)
        XCTAssertEqual(a.train, b.train)
        XCTAssertEqual(a.eval, b.eval)
        XCTAssertEqual(a.eval.count, 10)
        XCTAssertEqual(a.train.count, 30)
        XCTAssertTrue(Set(a.train.map(\.record)).isDisjoint(with: a.eval.map(\.record)))
        XCTAssertEqual(Set(a.train.map(\.record)).union(a.eval.map(\.record)), Set(0..<40))
        XCTAssertEqual(a.train.map(\.record), a.train.map(\.record).sorted(), "dataset order")
        XCTAssertEqual(a.eval.filter { $0.category == "Chat" }.count, 5, "stratified by category")
        var other = options
        other.seed = 10
        XCTAssertNotEqual(try DataPipeline.prepare(other, tokenizer: fake).eval.map(\.record), a.eval.map(\.record))
        XCTAssertEqual(a.stats.eval.examples, 10)
        XCTAssertEqual(a.stats.train.examples, 30)
    }

    func testPreTokenizedBOSRuleAndTrainOnIgnored() throws {
        let lines = [
            #"{"input_ids": [1000, 5, 6, 7], "labels": [-100, -100, 6, 7]}"#,
            #"{"input_ids": [1000, 1000, 6, 7], "labels": [-100, -100, 6, 7]}"#,
            #"{"input_ids": [5, 6, 7], "trained": [0, 1, 1]}"#,
        ]
        let path = try temporaryFile(lines.joined(separator: "\n"))
        var options = DataOptions(train: path, template: .llama3, trainOn: .all, maxSeqLen: 100)
        XCTAssertThrowsError(try DataPipeline.prepare(options, tokenizer: fake)) { error in
            guard case let .invalidRecord(source, reason, _)? = error as? ChatDataError else { return XCTFail("\(error)") }
            XCTAssertEqual(source.line, 2)
            XCTAssertEqual(reason, .badTokenized)
        }
        options.onInvalid = .skip
        let prepared = try DataPipeline.prepare(options, tokenizer: fake)
        XCTAssertEqual(prepared.train, [Example(record: 0, ids: [1000, 5, 6, 7], trained: [0, 0, 1, 1])])
        XCTAssertEqual(prepared.stats.skipped, [.badTokenized: 2])
        XCTAssertEqual(prepared.stats.valid, 1)
        XCTAssertEqual(prepared.stats.records, 3)

        // chatml has no BOS: the same ids pass unchanged.
        let chatml = FakeTokenizer(specials: FakeTokenizer.chatMLSpecials)
        options.template = .chatml
        XCTAssertEqual(try DataPipeline.prepare(options, tokenizer: chatml).train.count, 3)
    }

    func testAllFourFormatsGiveTheSameExample() throws {
        let texts = [
            #"{"messages": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}]}"#,
            #"{"prompt": "Q", "completion": "A"}"#,
            #"{"conversations": [{"from": "human", "value": "Q"}, {"from": "gpt", "value": "A"}]}"#,
        ]
        var results: [Example] = []
        for text in texts {
            let prepared = try DataPipeline.prepare(DataOptions(train: try temporaryFile(text), template: .llama3,
                                                                maxSeqLen: 100), tokenizer: fake)
            results += prepared.train
        }
        XCTAssertEqual(results[0], results[1])
        XCTAssertEqual(results[0], results[2])
        let ids = results[0].ids.map(String.init).joined(separator: ", ")
        let labels = zip(results[0].ids, results[0].trained).map { $1 == 1 ? String($0) : "-100" }.joined(separator: ", ")
        let tokenized = try DataPipeline.prepare(
            DataOptions(train: try temporaryFile(#"{"input_ids": [\#(ids)], "labels": [\#(labels)]}"#), template: .llama3,
                        maxSeqLen: 100), tokenizer: fake)
        XCTAssertEqual(tokenized.train, [results[0]])
    }

    func testErrorsForOptionsAndEmptyResults() throws {
        let path = try temporaryFile(record(user: "Q", assistant: "A"))
        XCTAssertThrowsError(try DataPipeline.prepare(DataOptions(train: path, evalFraction: 1.5), tokenizer: fake))
        XCTAssertThrowsError(try DataPipeline.prepare(DataOptions(train: path, eval: path, evalFraction: 0.1), tokenizer: fake))
        XCTAssertThrowsError(try DataPipeline.prepare(DataOptions(train: path, maxSeqLen: 1), tokenizer: fake))
        XCTAssertThrowsError(try DataPipeline.prepare(DataOptions(train: path, template: .chatml), tokenizer: fake)) { error in
            XCTAssertEqual(error as? ChatDataError, .missingSpecialToken(name: "<|im_start|>", template: "chatml"))
        }
        XCTAssertThrowsError(try DataPipeline.prepare(DataOptions(train: path, maxSeqLen: 3), tokenizer: fake)) { error in
            guard case .noExamples? = error as? ChatDataError else { return XCTFail("\(error)") }
        }
    }
}
