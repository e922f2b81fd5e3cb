import Foundation

/// Edits one top-level key of a JSON object *in its text*, leaving every other byte as it was.
///
/// Re-encoding a parsed `config.json` would reformat numbers (`500000.0` → `500000`, `1e-05` →
/// `1.0000000000000001e-05`), reorder keys and escape slashes; editing the text keeps the base's file
/// exactly, except for the value that must change (issue 7: "keep every other key and the rope key style").
enum JSONTextEdit {
    /// Returns `text` with the value of top-level `key` replaced by `valueJSON` (already JSON text), or the
    /// key inserted first in the object when absent. Throws when `text` is not a JSON object.
    static func setting(_ key: String, to valueJSON: String, in text: String, path: String) throws -> String {
        var bytes = Array(text.utf8)
        let entries = try topLevelEntries(bytes, path: path)
        if let entry = entries.first(where: { $0.key == key }) {
            bytes.replaceSubrange(entry.value, with: Array(valueJSON.utf8))
            return String(decoding: bytes, as: UTF8.self)
        }
        let member = Array((jsonString(key) + ": " + valueJSON).utf8)
        guard let open = bytes.firstIndex(of: UInt8(ascii: "{")) else {
            throw ExportError.badJSON(path: path, reason: "not a JSON object")
        }
        if let first = entries.first {
            // Insert before the first member, repeating the whitespace that precedes it ("\n  ").
            let indent = Array(bytes[(open + 1)..<first.keyStart])
            bytes.insert(contentsOf: member + Array(",".utf8) + indent, at: first.keyStart)
        } else {
            bytes.insert(contentsOf: member, at: open + 1)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The value of top-level `key` parsed by Foundation (nil when absent).
    static func topLevelValue(_ key: String, in text: String) -> Any? {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else { return nil }
        return object[key]
    }

    /// A JSON string literal (ASCII-safe: Foundation escapes what needs escaping).
    static func jsonString(_ s: String) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: [s], options: [.withoutEscapingSlashes])) ?? Data("[\"\"]".utf8)
        let text = String(decoding: data, as: UTF8.self)
        return String(text.dropFirst().dropLast())
    }

    struct Entry {
        let key: String
        let keyStart: Int
        let value: Range<Int>
    }

    /// The members of the top-level object: key, where the key's quote starts, and the value's byte range.
    static func topLevelEntries(_ b: [UInt8], path: String) throws -> [Entry] {
        // Validate with Foundation first, so the scanner below may rely on well-formed input.
        guard (try? JSONSerialization.jsonObject(with: Data(b))) is [String: Any] else {
            throw ExportError.badJSON(path: path, reason: "not a valid JSON object")
        }
        var i = 0
        func skipSpace() { while i < b.count, [0x20, 0x09, 0x0A, 0x0D].contains(b[i]) { i += 1 } }
        func fail(_ reason: String) -> ExportError { .badJSON(path: path, reason: "\(reason) at byte \(i)") }
        skipSpace()
        guard i < b.count, b[i] == UInt8(ascii: "{") else { throw fail("expected {") }
        i += 1
        var entries: [Entry] = []
        while true {
            skipSpace()
            guard i < b.count else { throw fail("unterminated object") }
            if b[i] == UInt8(ascii: "}") { break }
            if b[i] == UInt8(ascii: ",") { i += 1; skipSpace() }
            let keyStart = i
            try skipValue(b, &i, path: path)
            let keyText = Data(b[keyStart..<i])
            guard let key = (try? JSONSerialization.jsonObject(with: keyText, options: .fragmentsAllowed)) as? String else {
                throw fail("expected a key")
            }
            skipSpace()
            guard i < b.count, b[i] == UInt8(ascii: ":") else { throw fail("expected :") }
            i += 1
            skipSpace()
            let valueStart = i
            try skipValue(b, &i, path: path)
            entries.append(Entry(key: key, keyStart: keyStart, value: valueStart..<i))
        }
        return entries
    }

    /// Advances `i` past one JSON value (string, number, literal, object or array).
    private static func skipValue(_ b: [UInt8], _ i: inout Int, path: String) throws {
        guard i < b.count else { throw ExportError.badJSON(path: path, reason: "unexpected end") }
        switch b[i] {
        case UInt8(ascii: "\""):
            i += 1
            while i < b.count, b[i] != UInt8(ascii: "\"") { i += b[i] == UInt8(ascii: "\\") ? 2 : 1 }
            i += 1
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            repeat {
                switch b[i] {
                case UInt8(ascii: "\""):
                    try skipValue(b, &i, path: path)
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
                default: break
                }
                i += 1
            } while depth > 0 && i < b.count
        default:
            while i < b.count, ![UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x09, 0x0A, 0x0D].contains(b[i]) { i += 1 }
        }
        guard i <= b.count else { throw ExportError.badJSON(path: path, reason: "unterminated value") }
    }
}
