/// Decodes ids one at a time (e.g. while generating) without ever cutting a UTF-8 character in half:
/// bytes of a character split across tokens are held back until the character is complete.
///
/// The concatenation of every `append` result and `finish()` equals `tokenizer.decode(allIDs)`.
public struct StreamingDecoder: Sendable {
    private let tokenizer: Tokenizer
    private var pending: [UInt8] = []

    public init(tokenizer: Tokenizer) {
        self.tokenizer = tokenizer
    }

    /// Adds one token; returns the complete UTF-8 text not returned before (possibly empty).
    /// Bytes that cannot start or continue a valid character come out at once as U+FFFD.
    public mutating func append(_ id: Int) -> String {
        tokenizer.appendBytes(of: id, to: &pending)
        let ready = pending.count - StreamingDecoder.incompleteTailLength(pending)
        guard ready > 0 else { return "" }
        let text = String(decoding: pending[..<ready], as: UTF8.self)
        pending.removeFirst(ready)
        return text
    }

    /// Returns whatever is still held back (an unfinished character becomes U+FFFD) and resets.
    public mutating func finish() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    /// Length of the trailing bytes that form a valid but unfinished UTF-8 sequence (0…3). Decoding is
    /// compositional at any other cut, so holding back exactly these keeps streaming equal to one decode.
    static func incompleteTailLength(_ bytes: [UInt8]) -> Int {
        let n = bytes.count
        var start = n - 1
        while start >= 0 && start >= n - 3 && bytes[start] & 0xC0 == 0x80 { start -= 1 }   // skip continuations
        guard start >= 0 else { return 0 }
        let lead = bytes[start]
        let needed: Int
        switch lead {
        case 0xC2...0xDF: needed = 2
        case 0xE0...0xEF: needed = 3
        case 0xF0...0xF4: needed = 4
        default: return 0   // ASCII, or a byte that can never start a character
        }
        let available = n - start
        guard available < needed else { return 0 }
        if available >= 2 {
            // The second byte's range is narrower after some leads (no overlongs, surrogates, or > U+10FFFF).
            let second = bytes[start + 1]
            let valid: ClosedRange<UInt8>
            switch lead {
            case 0xE0: valid = 0xA0...0xBF
            case 0xED: valid = 0x80...0x9F
            case 0xF0: valid = 0x90...0xBF
            case 0xF4: valid = 0x80...0x8F
            default: valid = 0x80...0xBF
            }
            guard valid.contains(second) else { return 0 }
        }
        return available
    }
}
