import Foundation
import StrictJSON

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
        while first < bytes.count && JSONArrayElements.isSpace(bytes[first]) { first += 1 }
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

    /// The top-level elements of a JSON array (see ``JSONArrayElements``): each is parsed later on its
    /// own, so one bad element is reported with its own line.
    private static func splitArray(_ bytes: [UInt8], open: Int, path: String) throws -> [RawRecord] {
        do {
            return try JSONArrayElements.split(bytes, open: open).map { RawRecord(range: $0.range, line: $0.line) }
        } catch let error as JSONArrayElements.FrameError {
            throw ChatDataError.malformedFile(path: path, line: error.line, detail: error.reason)
        }
    }
}
