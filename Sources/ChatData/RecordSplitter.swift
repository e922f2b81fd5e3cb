import Foundation

/// The bytes of one record in a dataset file and where it starts.
struct RawRecord {
    var range: Range<Int>
    /// 1-based line of the record's first byte.
    var line: Int
}

/// Splits a dataset file into records without decoding it as a String.
///
/// The kind is chosen by the first non-space byte (after an optional UTF-8 BOM): `[` is a JSON array whose
/// elements are the records, `{` is JSONL. JSONL is split on the byte 0x0A only, so U+2028/U+2029/U+0085
/// inside a string never split a record (they cannot occur raw in ASCII-escaped JSON anyway, but may in
/// UTF-8 JSON); lines holding only spaces, tabs or CR are skipped.
enum RecordSplitter {
    enum Kind: String { case jsonl = "JSONL", jsonArray = "JSON array" }

    static func split(_ bytes: [UInt8], path: String) throws -> (kind: Kind, records: [RawRecord]) {
        var start = 0
        if bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF { start = 3 }
        var first = start
        while first < bytes.count && isJSONSpace(bytes[first]) { first += 1 }
        guard first < bytes.count else { return (.jsonl, []) }
        switch bytes[first] {
        case UInt8(ascii: "{"):
            return (.jsonl, splitLines(bytes, from: start))
        case UInt8(ascii: "["):
            return (.jsonArray, try splitArray(bytes, open: first, path: path))
        default:
            if bytes.count >= 4 && bytes[0] == 0x50 && bytes[1] == 0x41 && bytes[2] == 0x52 && bytes[3] == 0x31 {
                throw ChatDataError.unknownFileKind(path: path, detail: "it is a Parquet file")
            }
            let shown = bytes[first] >= 0x20 && bytes[first] < 0x7F
                ? "'\(Character(UnicodeScalar(bytes[first])))'" : String(format: "byte 0x%02X", bytes[first])
            throw ChatDataError.unknownFileKind(path: path, detail: "the first non-space character is \(shown), expected '{' or '['")
        }
    }

    static func isJSONSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 }

    private static func splitLines(_ bytes: [UInt8], from start: Int) -> [RawRecord] {
        var records: [RawRecord] = []
        var line = 1
        var lineStart = start
        var index = start
        while index <= bytes.count {
            if index == bytes.count || bytes[index] == 0x0A {
                var blank = true
                for b in bytes[lineStart..<index] where b != 0x20 && b != 0x09 && b != 0x0D {
                    blank = false
                    break
                }
                if !blank { records.append(RawRecord(range: lineStart..<index, line: line)) }
                line += 1
                lineStart = index + 1
            }
            index += 1
        }
        return records
    }

    /// Finds the top-level elements of a JSON array by tracking strings, escapes and bracket depth.
    /// Each element is parsed later on its own, so one bad element is reported with its own line.
    private static func splitArray(_ bytes: [UInt8], open: Int, path: String) throws -> [RawRecord] {
        var records: [RawRecord] = []
        var line = 1
        for b in bytes[0..<open] where b == 0x0A { line += 1 }
        var index = open + 1
        var depth = 0
        var inString = false
        var escaped = false
        var elementStart: Int? = nil
        var elementLine = line
        var closed = false
        while index < bytes.count {
            let b = bytes[index]
            if b == 0x0A { line += 1 }
            if inString {
                if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") { inString = false }
                index += 1
                continue
            }
            if depth == 0 && (b == UInt8(ascii: ",") || b == UInt8(ascii: "]")) {
                if let s = elementStart {
                    records.append(RawRecord(range: s..<index, line: elementLine))
                    elementStart = nil
                } else if b == UInt8(ascii: ",") || !records.isEmpty {
                    throw ChatDataError.malformedFile(path: path, line: line, detail: "empty element in the JSON array (stray comma)")
                }
                if b == UInt8(ascii: "]") {
                    closed = true
                    index += 1
                    break
                }
                index += 1
                continue
            }
            if !isJSONSpace(b) && elementStart == nil {
                elementStart = index
                elementLine = line
            }
            switch b {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
            default: break
            }
            index += 1
        }
        guard closed else {
            throw ChatDataError.malformedFile(path: path, line: elementStart == nil ? line : elementLine,
                                              detail: "the JSON array is not closed (missing ']' or an unterminated string/object)")
        }
        while index < bytes.count {
            if bytes[index] == 0x0A { line += 1 } else if !isJSONSpace(bytes[index]) {
                throw ChatDataError.malformedFile(path: path, line: line, detail: "unexpected text after the closing ']' of the JSON array")
            }
            index += 1
        }
        return records
    }
}
