import Foundation
import StrictJSON

/// Edits one top-level key of a JSON object *in its text*, leaving every other byte as it was.
///
/// Re-encoding a parsed `config.json` would reformat numbers (`500000.0` → `500000`, `1e-05` →
/// `1.0000000000000001e-05`), reorder keys and escape slashes; editing the text keeps the base's file
/// exactly (every other key and the rope key style), except for the value that must change.
enum JSONTextEdit {
    /// Returns `text` with the value of top-level `key` replaced by `valueJSON` (already JSON text), or the
    /// key inserted first in the object when absent. Throws when `text` is not a JSON object.
    static func setting(_ key: String, to valueJSON: String, in text: String, path: String) throws -> String {
        var bytes = Array(text.utf8)
        let entries = try topLevelEntries(bytes, path: path)
        if let entry = entries.first(where: { $0.key == key }) {
            bytes.replaceSubrange(entry.valueRange, with: Array(valueJSON.utf8))
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

    /// The value of top-level `key` (nil when absent or when `text` is not a JSON object).
    static func topLevelValue(_ key: String, in text: String) -> JSONValue? {
        (try? JSONParser.topLevelMembers(Array(text.utf8)))?.first { $0.key == key }?.value
    }

    /// A JSON string literal (ASCII-safe: Foundation escapes what needs escaping).
    static func jsonString(_ s: String) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: [s], options: [.withoutEscapingSlashes])) ?? Data("[\"\"]".utf8)
        let text = String(decoding: data, as: UTF8.self)
        return String(text.dropFirst().dropLast())
    }

    /// The members of the top-level object, through the strict parser (a duplicate key is an error: which
    /// of the two would the edit change?).
    static func topLevelEntries(_ bytes: [UInt8], path: String) throws -> [JSONMember] {
        do { return try JSONParser.topLevelMembers(bytes) } catch let error as JSONParseError {
            let line = JSONParser.line(atOffset: error.offset, in: bytes)
            throw ExportError.badJSON(path: path, reason: "not a valid JSON object: \(error.reason) (line \(line))")
        }
    }
}
