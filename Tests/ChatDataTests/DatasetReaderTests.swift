import Foundation
import XCTest
@testable import ChatData

final class DatasetReaderTests: XCTestCase {
    func read(_ text: String, format: DatasetFormat = .auto, onInvalid: OnInvalid = .error,
              vocabularySize: Int? = nil) throws -> DatasetFile {
        try DatasetReader.read(bytes: Array(text.utf8), path: "d.jsonl", format: format, onInvalid: onInvalid,
                               vocabularySize: vocabularySize)
    }

    /// A misread record is a failure (it used to be a skip, which let a test pass without checking).
    func conversation(_ record: DatasetRecord, file: StaticString = #filePath, line: UInt = #line) throws -> Conversation {
        guard case .conversation(let c) = record else {
            XCTFail("expected a conversation, read \(record)", file: file, line: line)
            throw DatasetRecordMismatch()
        }
        return c
    }

    struct DatasetRecordMismatch: Error {}

    /// Asserts that reading fails with an invalid record at `line` for `reason`, and that the message says where.
    func assertInvalid(_ text: String, line: Int, reason: InvalidReason, format: DatasetFormat = .auto,
                       file: StaticString = #filePath, testLine: UInt = #line) {
        XCTAssertThrowsError(try read(text, format: format), file: file, line: testLine) { error in
            guard case let .invalidRecord(source, got, _)? = error as? ChatDataError else {
                return XCTFail("unexpected \(error)", file: file, line: testLine)
            }
            XCTAssertEqual(source.line, line, file: file, line: testLine)
            XCTAssertEqual(got, reason, file: file, line: testLine)
            let message = error.localizedDescription
            XCTAssertTrue(message.hasPrefix("d.jsonl:\(line): "), message, file: file, line: testLine)
            XCTAssertTrue(message.contains("fix:"), message, file: file, line: testLine)
        }
    }

    let good = #"{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}], "prompt": "hi", "prompt_id": "abc", "category": "Chat"}"#

    // MARK: formats

    func testMessagesKeepsMetadata() throws {
        let file = try read(good + "\n")
        XCTAssertEqual(file.format, .messages)
        XCTAssertEqual(file.records.count, 1)
        let c = try conversation(file.records[0])
        XCTAssertEqual(c.messages, [Message(role: .user, content: "hi"), Message(role: .assistant, content: "yo")])
        XCTAssertEqual(c.metadata, ["prompt": "hi", "prompt_id": "abc", "category": "Chat"])
        XCTAssertEqual(c.category, "Chat")
        XCTAssertEqual(c.source, RecordSource(file: "d.jsonl", line: 1, record: 0))
    }

    func testPromptCompletionStringsAndLists() throws {
        let text = #"{"prompt": "Q", "completion": "A", "id": "1"}"# + "\n" +
            #"{"prompt": [{"role": "system", "content": "S"}, {"role": "user", "content": "Q"}], "completion": [{"role": "assistant", "content": "A"}]}"#
        let file = try read(text)
        XCTAssertEqual(file.format, .promptCompletion)
        XCTAssertEqual(try conversation(file.records[0]).messages,
                       [Message(role: .user, content: "Q"), Message(role: .assistant, content: "A")])
        XCTAssertEqual(try conversation(file.records[0]).metadata, ["id": "1"])
        XCTAssertEqual(try conversation(file.records[1]).messages.map(\.role), [.system, .user, .assistant])
    }

    func testShareGPTMapsRoles() throws {
        let text = #"{"conversations": [{"from": "system", "value": "S"}, {"from": "human", "value": "Q"}, {"from": "gpt", "value": "A"}]}"# + "\n" +
            #"{"system": "Top", "conversations": [{"from": "human", "value": "Q"}, {"from": "gpt", "value": "A"}]}"#
        let file = try read(text)
        XCTAssertEqual(file.format, .sharegpt)
        XCTAssertEqual(try conversation(file.records[0]).messages,
                       [Message(role: .system, content: "S"), Message(role: .user, content: "Q"),
                        Message(role: .assistant, content: "A")])
        XCTAssertEqual(try conversation(file.records[1]).messages.first, Message(role: .system, content: "Top"))
        assertInvalid(#"{"conversations": [{"from": "bot", "value": "x"}, {"from": "gpt", "value": "A"}]}"#,
                      line: 1, reason: .unknownRole)
    }

    func testTokenizedWithUnshiftedLabelsAndWithMask() throws {
        let text = #"{"input_ids": [1000, 5, 6, 7], "labels": [-100, -100, 6, 7]}"# + "\n" +
            #"{"input_ids": [1000, 5, 6], "trained": [0, 1, 1], "category": "x"}"# + "\n" +
            #"{"input_ids": [1000, 5, 6], "trained": [false, true, true]}"#
        let file = try read(text, vocabularySize: 1200)
        XCTAssertEqual(file.format, .tokenized)
        guard case .tokenized(let a) = file.records[0], case .tokenized(let b) = file.records[1],
              case .tokenized(let c) = file.records[2] else { return XCTFail("not tokenized") }
        XCTAssertEqual(a.ids, [1000, 5, 6, 7])
        XCTAssertEqual(a.trained, [0, 0, 1, 1], "label[t] != -100 ⇒ token t is trained (unshifted)")
        XCTAssertEqual(b.trained, [0, 1, 1])
        XCTAssertEqual(b.category, "x")
        XCTAssertEqual(c.trained, [0, 1, 1])
    }

    func testTokenizedErrors() {
        // Shifted labels (label[t] = input_ids[t+1]) are the classic mistake.
        assertInvalid(#"{"input_ids": [1, 5, 6], "labels": [5, 6, -100]}"#, line: 1, reason: .badTokenized)
        assertInvalid(#"{"input_ids": [1, 5, 6], "labels": [-100, 5]}"#, line: 1, reason: .badTokenized)
        assertInvalid(#"{"input_ids": [1, 5.5], "labels": [-100, 5]}"#, line: 1, reason: .badTokenized)
        assertInvalid(#"{"input_ids": [1, 5], "trained": [0, 2]}"#, line: 1, reason: .badTokenized)
        assertInvalid(#"{"input_ids": [1, 5]}"#, line: 1, reason: .missingField)
        XCTAssertThrowsError(try read(#"{"input_ids": [1, 5000], "trained": [0, 1]}"#, vocabularySize: 1200))
    }

    func testExplicitFormatOverridesDetection() throws {
        let text = #"{"messages": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}], "prompt": "P", "completion": "C"}"#
        let file = try read(text, format: .promptCompletion)
        XCTAssertEqual(try conversation(file.records[0]).messages,
                       [Message(role: .user, content: "P"), Message(role: .assistant, content: "C")])
        assertInvalid(good, line: 1, reason: .missingField, format: .sharegpt)
    }

    func testUndetectableFormat() {
        XCTAssertThrowsError(try read(#"{"text": "plain pretraining text"}"#)) { error in
            XCTAssertEqual(error as? ChatDataError, .undetectableFormat(path: "d.jsonl", keys: ["text"]))
        }
    }

    // MARK: file layout

    func testJSONArrayWithLineNumbers() throws {
        let text = "[\n  " + good + ",\n\n  " + good.replacingOccurrences(of: "\"yo\"", with: "\"a, ] } [ \\\" {\"") + "\n]\n"
        let file = try read(text)
        XCTAssertEqual(file.records.count, 2)
        XCTAssertEqual(file.records.map(\.source.line), [2, 4])
        XCTAssertEqual(file.records.map(\.source.record), [0, 1])
        XCTAssertEqual(try conversation(file.records[1]).messages[1].content, "a, ] } [ \" {")
        XCTAssertEqual(try read("[]").records.count, 0)
        // A bad element is reported at its own line.
        assertInvalid("[\n" + good + ",\n{\"messages\": tru}\n]", line: 3, reason: .malformedJSON)
        XCTAssertThrowsError(try read("[\n" + good + ",\n" + good)) { error in
            guard case .malformedFile? = error as? ChatDataError else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try read("[" + good + ",]"))
    }

    func testBOMEmptyLinesCRLFAndByteSplitting() throws {
        // U+2028 / U+0085 raw inside a string must not split the record (split on 0x0A only).
        let odd = good.replacingOccurrences(of: "\"yo\"", with: "\"y\u{2028}o\u{85}\"")
        let text = "\u{FEFF}" + good + "\r\n\r\n   \n" + odd + "\r\n\n"
        let file = try read(text)
        XCTAssertEqual(file.recordCount, 2)
        XCTAssertEqual(file.records.map(\.source.line), [1, 4])
        XCTAssertEqual(file.records.map(\.source.record), [0, 1])
        XCTAssertEqual(try conversation(file.records[1]).messages[1].content, "y\u{2028}o\u{85}")
    }

    func testNotJSONAtAll() {
        XCTAssertThrowsError(try read("hello")) { error in
            guard case .unknownFileKind? = error as? ChatDataError else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try DatasetReader.read(bytes: Array("PAR1xxxx".utf8), path: "d.parquet")) { error in
            XCTAssertTrue(error.localizedDescription.contains("Parquet"))
        }
        XCTAssertThrowsError(try DatasetReader.read(path: "/nonexistent/x.jsonl")) { error in
            guard case .unreadableFile? = error as? ChatDataError else { return XCTFail("\(error)") }
        }
    }

    // MARK: validation

    func testMalformedLineNamesFileAndLine() {
        assertInvalid(good + "\n\n" + #"{"messages": [ {"role": "user""# + "\n" + good, line: 3, reason: .malformedJSON)
        assertInvalid(good + "\n[1, 2]", line: 2, reason: .notAnObject)
    }

    func testUnknownRole() {
        assertInvalid(#"{"messages": [{"role": "tool", "content": "x"}, {"role": "assistant", "content": "A"}]}"#,
                      line: 1, reason: .unknownRole)
        assertInvalid(#"{"messages": [{"role": 3, "content": "x"}, {"role": "assistant", "content": "A"}]}"#,
                      line: 1, reason: .unknownRole)
    }

    func testSystemNotFirst() {
        assertInvalid(good + "\n" + #"{"messages": [{"role": "user", "content": "Q"}, {"role": "system", "content": "S"}, {"role": "assistant", "content": "A"}]}"#,
                      line: 2, reason: .systemNotFirst)
    }

    func testNoAssistantMessage() {
        assertInvalid(#"{"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "Q"}]}"#,
                      line: 1, reason: .noAssistant)
        assertInvalid(#"{"messages": []}"#, line: 1, reason: .noAssistant)
    }

    func testNonStringContent() {
        assertInvalid(#"{"messages": [{"role": "user", "content": ["a"]}, {"role": "assistant", "content": "A"}]}"#,
                      line: 1, reason: .nonStringContent)
        assertInvalid(#"{"messages": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": null}]}"#,
                      line: 1, reason: .nonStringContent)
        assertInvalid(#"{"messages": [{"role": "user"}, {"role": "assistant", "content": "A"}]}"#,
                      line: 1, reason: .missingField)
    }

    func testConversationEndingWithUserIsAccepted() throws {
        let text = #"{"messages": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}, {"role": "user", "content": "more?"}]}"#
        let file = try read(text)
        XCTAssertEqual(try conversation(file.records[0]).messages.last?.role, .user)
    }

    func testSkipCountsPerReason() throws {
        let lines = [
            good,
            #"{"messages": [{"role": "tool", "content": "x"}, {"role": "assistant", "content": "A"}]}"#,
            "{not json",
            #"{"messages": [{"role": "user", "content": "Q"}]}"#,
            #"{"messages": [{"role": "user", "content": "Q"}]}"#,
            good,
            #"{"messages": [{"role": "user", "content": 5}, {"role": "assistant", "content": "A"}]}"#,
            #"{"messages": [{"role": "user", "content": "Q"}, {"role": "system", "content": "S"}, {"role": "assistant", "content": "A"}]}"#,
        ]
        let file = try read(lines.joined(separator: "\n"), onInvalid: .skip)
        XCTAssertEqual(file.recordCount, 8)
        XCTAssertEqual(file.records.map(\.source.record), [0, 5])
        XCTAssertEqual(file.skipped, [.unknownRole: 1, .malformedJSON: 1, .noAssistant: 2, .nonStringContent: 1,
                                      .systemNotFirst: 1])
        XCTAssertEqual(file.skipExamples.count, DatasetReader.skipExampleLimit)
        XCTAssertTrue(file.skipExamples[0].hasPrefix("d.jsonl:2: "))
    }
}
