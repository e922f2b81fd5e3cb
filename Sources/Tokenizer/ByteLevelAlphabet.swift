/// GPT-2's `bytes_to_unicode` map, used by every byte-level `tokenizer.json`: each byte is written as one
/// printable Unicode scalar so that vocabulary keys and merges are plain strings (docs/formats.md, Tokenizer).
///
/// Bytes 0x21–0x7E, 0xA1–0xAC and 0xAE–0xFF stand for themselves; the other 68 bytes
/// (0x00–0x20, 0x7F–0xA0, 0xAD), in increasing order, become U+0100, U+0101, … U+0143.
enum ByteLevelAlphabet {
    /// `scalarForByte[b]` is the scalar value that represents byte `b`.
    static let scalarForByte: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 0x100
        for b in 0..<256 {
            if (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b) {
                table[b] = UInt32(b)
            } else {
                table[b] = next
                next += 1
            }
        }
        return table
    }()

    /// Inverse map indexed by scalar value (0..<0x144); -1 where the scalar is not part of the alphabet.
    static let byteForScalar: [Int16] = {
        var table = [Int16](repeating: -1, count: 0x144)
        for (b, s) in scalarForByte.enumerated() { table[Int(s)] = Int16(b) }
        return table
    }()

    /// The bytes a byte-level string stands for, or nil if it holds a scalar outside the alphabet.
    static func bytes(of text: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        let inverse = byteForScalar
        for scalar in text.unicodeScalars {
            let v = Int(scalar.value)
            guard v < inverse.count, inverse[v] >= 0 else { return nil }
            out.append(UInt8(inverse[v]))
        }
        return out
    }

    /// Appends the bytes that the byte-level string in `utf8` stands for; false (with `out` partly
    /// written) if it holds a scalar outside the alphabet. Alphabet scalars are < U+0144, i.e. 1–2 UTF-8 bytes.
    @inline(__always) static func appendBytes(ofUTF8 utf8: UnsafeBufferPointer<UInt8>, to out: inout [UInt8],
                                              inverse: UnsafeBufferPointer<Int16>) -> Bool {
        var i = 0
        let n = utf8.count
        while i < n {
            let b = utf8[i]
            var value: Int
            if b < 0x80 {
                value = Int(b)
                i += 1
            } else if b & 0xE0 == 0xC0 && i + 1 < n {
                value = Int(b & 0x1F) << 6 | Int(utf8[i + 1] & 0x3F)
                i += 2
            } else {
                return false
            }
            guard value < inverse.count, inverse[value] >= 0 else { return false }
            out.append(UInt8(truncatingIfNeeded: inverse[value]))
        }
        return true
    }

    /// The byte-level string for raw bytes (used by tests and for building tokenizer.json files).
    static func string(of bytes: some Sequence<UInt8>) -> String {
        var s = String.UnicodeScalarView()
        for b in bytes { s.append(Unicode.Scalar(scalarForByte[Int(b)])!) }
        return String(s)
    }
}
