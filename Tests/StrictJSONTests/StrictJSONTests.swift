import Foundation
import StrictJSON
import XCTest

final class StrictJSONTests: XCTestCase {
    func parse(_ text: String) throws -> JSONValue { try JSONParser.parse(Array(text.utf8)) }

    func error(_ text: String) -> JSONParseError? {
        do { _ = try parse(text); return nil } catch { return error as? JSONParseError }
    }

    func testDuplicateKeysAreRejectedWithTheirOffsetAndLine() {
        let text = "{\n  \"a\": 1,\n  \"b\": {\"a\": 2},\n  \"a\": 3\n}"
        guard case .duplicateKey("a", let offset)? = error(text) else { return XCTFail("\(String(describing: error(text)))") }
        XCTAssertEqual(JSONParser.line(atOffset: offset, in: Array(text.utf8)), 4)
        XCTAssertNoThrow(try parse("{\"a\": {\"a\": 1}}"), "the same key in different objects is fine")
    }

    func testSyntaxErrorsCarryTheirByteOffset() {
        let text = "{\"a\": [1, 2,, 3]}"
        guard case .syntax(let offset, _)? = error(text) else { return XCTFail() }
        XCTAssertEqual(offset, 12)
        XCTAssertEqual(JSONParser.line(atOffset: offset, in: Array(text.utf8)), 1)
        XCTAssertNotNil(error("{} x"), "only whitespace may follow the value")
        XCTAssertNotNil(error("[01]"))
        XCTAssertNotNil(error("\"\\ud800\""), "unpaired surrogate")
    }

    func testDepthIsCapped() {
        let deep = String(repeating: "[", count: JSONParser.maxDepth + 1) + String(repeating: "]", count: JSONParser.maxDepth + 1)
        XCTAssertNotNil(error(deep))
        let ok = String(repeating: "[", count: JSONParser.maxDepth) + String(repeating: "]", count: JSONParser.maxDepth)
        XCTAssertNoThrow(try parse(ok))
    }

    func testIntegersAreExact() throws {
        XCTAssertEqual(try parse("12").nonNegativeInt, 12)
        XCTAssertNil(try parse("12.0").nonNegativeInt)
        XCTAssertNil(try parse("1e2").nonNegativeInt)
        XCTAssertNil(try parse("true").nonNegativeInt)
        XCTAssertNil(try parse("99999999999999999999").nonNegativeInt, "overflow is not wrapped")
    }

    func testTopLevelMembersGiveKeyAndValueRanges() throws {
        let text = "{\"a\": [1, {\"x\": \"]\"}], \"b\" : \"s\"}"
        let bytes = Array(text.utf8)
        let members = try JSONParser.topLevelMembers(bytes)
        XCTAssertEqual(members.map(\.key), ["a", "b"])
        XCTAssertEqual(String(decoding: bytes[members[0].valueRange], as: UTF8.self), "[1, {\"x\": \"]\"}]")
        XCTAssertEqual(String(decoding: bytes[members[1].valueRange], as: UTF8.self), "\"s\"")
        XCTAssertEqual(members[1].keyStart, text.utf8.distance(from: text.utf8.startIndex, to: text.range(of: "\"b\"")!.lowerBound))
        XCTAssertThrowsError(try JSONParser.topLevelMembers(Array("[1]".utf8)))
        XCTAssertThrowsError(try JSONParser.topLevelMembers(Array("{\"a\": 1, \"a\": 2}".utf8)))
    }

    /// One rule for types, whether the value came from JSONSerialization or from the strict parser.
    func testOneRuleForTypes() throws {
        let fromFoundation = try JSONSerialization.jsonObject(with: Data(#"{"t": true, "one": 1, "half": 2.5, "two": 2.0, "s": "1"}"#.utf8)) as! [String: Any]
        let fromStrict = try parse(#"{"t": true, "one": 1, "half": 2.5, "two": 2.0, "s": "1"}"#).foundationValue as! [String: Any]
        for object in [fromFoundation, fromStrict] {
            XCTAssertEqual(JSONField.boolean(object["t"]), true)
            XCTAssertNil(JSONField.boolean(object["one"]), "1 is not a boolean")
            XCTAssertNil(JSONField.integer(object["t"]), "true is not an integer")
            XCTAssertNil(JSONField.number(object["t"]), "true is not a number")
            XCTAssertEqual(JSONField.integer(object["one"]), 1)
            XCTAssertEqual(JSONField.integer(object["two"]), 2)
            XCTAssertNil(JSONField.integer(object["half"]))
            XCTAssertEqual(JSONField.number(object["half"]), 2.5)
            XCTAssertNil(JSONField.integer(object["s"]), "a string is not a number")
            XCTAssertTrue(JSONField.isMissing(object["absent"]))
        }
    }

    func testArrayElementsAreFoundWithoutJudgingThem() throws {
        let text = "[\n {\"a\": \"x, ] \\\" {\"},\n {\"b\": tru}\n]"
        let elements = try JSONArrayElements.split(Array(text.utf8), open: 0)
        XCTAssertEqual(elements.map(\.line), [2, 3])
        // An element's range runs to the comma or bracket that ends it (trailing whitespace included).
        XCTAssertEqual(String(decoding: Array(text.utf8)[elements[1].range], as: UTF8.self), "{\"b\": tru}\n")
        XCTAssertThrowsError(try JSONArrayElements.split(Array("[1,,2]".utf8), open: 0))
        XCTAssertThrowsError(try JSONArrayElements.split(Array("[1, 2".utf8), open: 0))
        XCTAssertThrowsError(try JSONArrayElements.split(Array("[1] x".utf8), open: 0))
    }
}
