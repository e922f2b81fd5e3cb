/// Where the elements of a JSON array begin and end, found without judging them.
///
/// Dataset files may be one big JSON array of records. Each record is parsed (and, if bad, reported or
/// skipped) on its own, with its own line, so one malformed record must not hide the others: this walk
/// only follows strings, escapes and bracket depth, and leaves the verdict on each element to the strict
/// parse that follows. The array's own frame (commas, the closing bracket, trailing text) is checked here.
public enum JSONArrayElements {
    public struct Element: Sendable, Equatable {
        public let range: Range<Int>
        /// 1-based line of the element's first byte.
        public let line: Int
    }

    /// A fault in the array's frame, with the 1-based line where it was found.
    public struct FrameError: Error, Equatable, Sendable {
        public let line: Int
        public let reason: String
    }

    public static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 }

    /// The elements of the array whose `[` is at `open`.
    public static func split(_ bytes: [UInt8], open: Int) throws -> [Element] {
        var elements: [Element] = []
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
                    elements.append(Element(range: s..<index, line: elementLine))
                    elementStart = nil
                } else if b == UInt8(ascii: ",") || !elements.isEmpty {
                    throw FrameError(line: line, reason: "empty element in the JSON array (stray comma)")
                }
                if b == UInt8(ascii: "]") {
                    closed = true
                    index += 1
                    break
                }
                index += 1
                continue
            }
            if !isSpace(b) && elementStart == nil {
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
            throw FrameError(line: elementStart == nil ? line : elementLine,
                             reason: "the JSON array is not closed (missing ']' or an unterminated string/object)")
        }
        while index < bytes.count {
            if bytes[index] == 0x0A { line += 1 } else if !isSpace(bytes[index]) {
                throw FrameError(line: line, reason: "unexpected text after the closing ']' of the JSON array")
            }
            index += 1
        }
        return elements
    }
}
