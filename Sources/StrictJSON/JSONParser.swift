import Foundation

/// Why a text is not strict JSON. Offsets count bytes from the start of the parsed buffer; callers add
/// the file name (and a line from ``JSONParser/line(atOffset:in:)``) when they report it.
public enum JSONParseError: LocalizedError, Equatable, Sendable {
    case syntax(offset: Int, reason: String)
    case invalidUTF8
    case duplicateKey(String, offset: Int)

    /// Where the problem was found (the start of the text for invalid UTF-8).
    public var offset: Int {
        switch self {
        case .syntax(let offset, _), .duplicateKey(_, let offset): return offset
        case .invalidUTF8: return 0
        }
    }

    public var errorDescription: String? { "\(reason) (byte \(offset))" }

    /// What is wrong, without a location.
    public var reason: String {
        switch self {
        case .syntax(_, let reason): return reason
        case .invalidUTF8: return "not valid UTF-8"
        case .duplicateKey(let key, _): return "duplicate key \"\(key)\""
        }
    }
}

/// One member of an object, with where its key and value sit in the text (for in-place edits).
public struct JSONMember: Sendable {
    public let key: String
    /// Offset of the key's opening quote.
    public let keyStart: Int
    /// Bytes of the value's text.
    public let valueRange: Range<Int>
    public let value: JSONValue
}

/// The project's one strict JSON (RFC 8259) parser: safetensors headers and shard indexes, recipes,
/// and in-place edits of config.json all go through it.
///
/// Strict means: duplicate keys are errors, numbers keep their literal text (so integers are checked
/// exactly), nesting is capped, only whitespace may surround the value, and every error carries a byte
/// offset.
public struct JSONParser {
    /// Deep nesting is never legitimate in the files we read; the limit keeps a hostile `[[[[…` from
    /// overflowing the stack.
    public static let maxDepth = 64

    private let bytes: UnsafeRawBufferPointer
    private var pos = 0
    private var depth = 0

    /// Parses one JSON value from `bytes`, allowing only whitespace around it.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws -> JSONValue {
        // Outside strings JSON is pure ASCII, so any byte ≥ 0x80 must sit inside a string; validating the
        // whole buffer once up front (only when such a byte exists) keeps string decoding simple.
        if bytes.contains(where: { $0 >= 0x80 }) {
            guard String(validating: bytes, as: UTF8.self) != nil else { throw JSONParseError.invalidUTF8 }
        }
        var parser = JSONParser(bytes: bytes)
        parser.skipWhitespace()
        let value = try parser.parseValue()
        parser.skipWhitespace()
        if parser.pos != bytes.count {
            throw JSONParseError.syntax(offset: parser.pos, reason: "unexpected data after the top-level value")
        }
        return value
    }

    public static func parse(_ bytes: [UInt8]) throws -> JSONValue {
        try bytes.withUnsafeBytes { raw in try parse(raw) }
    }

    public static func parse(_ data: Data) throws -> JSONValue { try parse([UInt8](data)) }

    /// The members of the top-level object of `bytes`, with the byte ranges of keys and values; throws
    /// when the text is not one strict JSON object.
    public static func topLevelMembers(_ bytes: [UInt8]) throws -> [JSONMember] {
        try bytes.withUnsafeBytes { raw -> [JSONMember] in
            _ = try parse(raw)  // the whole text is valid: the walk below may rely on it
            var parser = JSONParser(bytes: raw)
            parser.skipWhitespace()
            guard parser.pos < raw.count, raw[parser.pos] == UInt8(ascii: "{") else {
                throw JSONParseError.syntax(offset: parser.pos, reason: "expected an object {…}")
            }
            var members: [JSONMember] = []
            parser.pos += 1
            while true {
                parser.skipWhitespace()
                if raw[parser.pos] == UInt8(ascii: "}") { break }
                if raw[parser.pos] == UInt8(ascii: ",") { parser.pos += 1; parser.skipWhitespace() }
                let keyStart = parser.pos
                let key = try parser.parseString()
                parser.skipWhitespace()
                parser.pos += 1  // :
                parser.skipWhitespace()
                let valueStart = parser.pos
                let value = try parser.parseValue()
                members.append(JSONMember(key: key, keyStart: keyStart, valueRange: valueStart..<parser.pos, value: value))
                parser.skipWhitespace()
            }
            return members
        }
    }

    /// The 1-based line of byte `offset` (lines end at 0x0A).
    public static func line(atOffset offset: Int, in bytes: UnsafeRawBufferPointer) -> Int {
        1 + bytes.prefix(max(0, min(offset, bytes.count))).reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
    }

    public static func line(atOffset offset: Int, in bytes: [UInt8]) -> Int {
        bytes.withUnsafeBytes { line(atOffset: offset, in: $0) }
    }

    private init(bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    private func fail(_ reason: String) -> JSONParseError {
        .syntax(offset: pos, reason: reason)
    }

    private mutating func skipWhitespace() {
        while pos < bytes.count {
            switch bytes[pos] {
            case 0x20, 0x09, 0x0A, 0x0D: pos += 1
            default: return
            }
        }
    }

    private mutating func parseValue() throws -> JSONValue {
        guard pos < bytes.count else { throw fail("unexpected end of input") }
        switch bytes[pos] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw fail("unexpected character '\(printable(bytes[pos]))'")
        }
    }

    private mutating func expectLiteral(_ word: String) throws {
        for c in word.utf8 {
            guard pos < bytes.count, bytes[pos] == c else { throw fail("invalid literal, expected '\(word)'") }
            pos += 1
        }
    }

    private mutating func enter() throws {
        depth += 1
        if depth > JSONParser.maxDepth { throw fail("nesting deeper than \(JSONParser.maxDepth) levels") }
    }

    private mutating func parseObject() throws -> JSONValue {
        try enter()
        pos += 1  // {
        var entries: [(key: String, value: JSONValue)] = []
        var seen = Set<String>()
        skipWhitespace()
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "}") {
            pos += 1
            depth -= 1
            return .object(entries)
        }
        while true {
            skipWhitespace()
            guard pos < bytes.count, bytes[pos] == UInt8(ascii: "\"") else { throw fail("expected a string key") }
            let keyOffset = pos
            let key = try parseString()
            guard seen.insert(key).inserted else { throw JSONParseError.duplicateKey(key, offset: keyOffset) }
            skipWhitespace()
            guard pos < bytes.count, bytes[pos] == UInt8(ascii: ":") else { throw fail("expected ':' after key") }
            pos += 1
            skipWhitespace()
            let value = try parseValue()
            entries.append((key, value))
            skipWhitespace()
            guard pos < bytes.count else { throw fail("unterminated object") }
            if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
            if bytes[pos] == UInt8(ascii: "}") { pos += 1; break }
            throw fail("expected ',' or '}' in object")
        }
        depth -= 1
        return .object(entries)
    }

    private mutating func parseArray() throws -> JSONValue {
        try enter()
        pos += 1  // [
        var items: [JSONValue] = []
        skipWhitespace()
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "]") {
            pos += 1
            depth -= 1
            return .array(items)
        }
        while true {
            skipWhitespace()
            items.append(try parseValue())
            skipWhitespace()
            guard pos < bytes.count else { throw fail("unterminated array") }
            if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
            if bytes[pos] == UInt8(ascii: "]") { pos += 1; break }
            throw fail("expected ',' or ']' in array")
        }
        depth -= 1
        return .array(items)
    }

    /// Number grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    private mutating func parseNumber() throws -> JSONValue {
        let start = pos
        func isDigit(_ i: Int) -> Bool { i < bytes.count && bytes[i] >= 0x30 && bytes[i] <= 0x39 }
        if bytes[pos] == UInt8(ascii: "-") { pos += 1 }
        guard isDigit(pos) else { throw fail("invalid number") }
        if bytes[pos] == UInt8(ascii: "0") {
            pos += 1
        } else {
            while isDigit(pos) { pos += 1 }
        }
        if pos < bytes.count, bytes[pos] == UInt8(ascii: ".") {
            pos += 1
            guard isDigit(pos) else { throw fail("invalid number: digit expected after '.'") }
            while isDigit(pos) { pos += 1 }
        }
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "e") || bytes[pos] == UInt8(ascii: "E") {
            pos += 1
            if pos < bytes.count, bytes[pos] == UInt8(ascii: "+") || bytes[pos] == UInt8(ascii: "-") { pos += 1 }
            guard isDigit(pos) else { throw fail("invalid number: digit expected in exponent") }
            while isDigit(pos) { pos += 1 }
        }
        return .number(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<pos]), as: UTF8.self))
    }

    private mutating func parseString() throws -> String {
        pos += 1  // opening quote
        var out: [UInt8] = []
        var runStart = pos
        while true {
            guard pos < bytes.count else { throw fail("unterminated string") }
            let c = bytes[pos]
            if c == UInt8(ascii: "\"") {
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[runStart..<pos]))
                pos += 1
                break
            }
            if c < 0x20 { throw fail("unescaped control character in string") }
            if c != UInt8(ascii: "\\") { pos += 1; continue }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[runStart..<pos]))
            pos += 1
            guard pos < bytes.count else { throw fail("unterminated escape") }
            let e = bytes[pos]
            pos += 1
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try parseHex4()
                if (0xD800...0xDBFF).contains(scalar) {
                    // A high surrogate must be followed by an escaped low surrogate.
                    guard pos + 1 < bytes.count, bytes[pos] == UInt8(ascii: "\\"), bytes[pos + 1] == UInt8(ascii: "u")
                    else { throw fail("unpaired surrogate escape") }
                    pos += 2
                    let low = try parseHex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw fail("unpaired surrogate escape") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw fail("unpaired surrogate escape")
                }
                out.append(contentsOf: String(Character(Unicode.Scalar(scalar)!)).utf8)
            default:
                throw fail("invalid escape '\\\(printable(e))'")
            }
            runStart = pos
        }
        // The buffer was validated as UTF-8 up front and escapes produce valid scalars.
        return String(decoding: out, as: UTF8.self)
    }

    private mutating func parseHex4() throws -> UInt32 {
        guard pos + 4 <= bytes.count else { throw fail("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[pos]
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x41...0x46: d = UInt32(c - 0x41 + 10)
            case 0x61...0x66: d = UInt32(c - 0x61 + 10)
            default: throw fail("invalid hex digit in \\u escape")
            }
            v = v << 4 | d
            pos += 1
        }
        return v
    }

    private func printable(_ c: UInt8) -> String {
        (0x20..<0x7F).contains(c) ? String(UnicodeScalar(c)) : "byte 0x" + String(c, radix: 16, uppercase: true)
    }
}
