/// Decodes a raw Snappy block (no framing), Parquet's SNAPPY codec.
/// Format: https://github.com/google/snappy/blob/main/format_description.txt
///
/// The block starts with its uncompressed length (varint), which must equal the page header's size; every
/// literal and copy is checked against the input and the output written so far, so a hostile block cannot
/// read or write out of bounds or expand past the declared size.
enum SnappyDecoder {
    static func decode(_ input: UnsafeBufferPointer<UInt8>, expectedSize: Int, what: String) throws -> [UInt8] {
        func fail(_ problem: String) -> ParquetError { .corrupt(what, "bad Snappy data: \(problem)") }
        var position = 0
        var length: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < input.count else { throw fail("it ends inside the length") }
            let b = input[position]
            position += 1
            length |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { break }
            shift += 7
            guard shift < 35 else { throw fail("the length is too long") }
        }
        guard length == UInt64(expectedSize) else {
            throw fail("it holds \(length) bytes but the page header says \(expectedSize)")
        }
        return try [UInt8](unsafeUninitializedCapacity: expectedSize) { out, written in
            var o = 0
            while position < input.count {
                let tag = input[position]
                position += 1
                switch tag & 3 {
                case 0:
                    var n = Int(tag >> 2)
                    if n >= 60 {
                        let extra = n - 59
                        guard input.count - position >= extra else { throw fail("a literal length runs past the end") }
                        n = 0
                        for i in 0..<extra { n |= Int(input[position + i]) << (8 * i) }
                        position += extra
                    }
                    n += 1
                    guard input.count - position >= n else { throw fail("a literal of \(n) bytes runs past the end") }
                    guard expectedSize - o >= n else { throw fail("it expands past its declared \(expectedSize) bytes") }
                    (out.baseAddress! + o).update(from: input.baseAddress! + position, count: n)
                    position += n
                    o += n
                default:
                    let n: Int
                    let offset: Int
                    switch tag & 3 {
                    case 1:
                        guard position < input.count else { throw fail("a copy runs past the end") }
                        n = 4 + Int((tag >> 2) & 7)
                        offset = Int(tag >> 5) << 8 | Int(input[position])
                        position += 1
                    case 2:
                        guard input.count - position >= 2 else { throw fail("a copy runs past the end") }
                        n = 1 + Int(tag >> 2)
                        offset = Int(input[position]) | Int(input[position + 1]) << 8
                        position += 2
                    default:
                        guard input.count - position >= 4 else { throw fail("a copy runs past the end") }
                        n = 1 + Int(tag >> 2)
                        offset = Int(input[position]) | Int(input[position + 1]) << 8 |
                            Int(input[position + 2]) << 16 | Int(input[position + 3]) << 24
                        position += 4
                    }
                    guard offset > 0 && offset <= o else { throw fail("a copy refers \(offset) bytes back, before the start") }
                    guard expectedSize - o >= n else { throw fail("it expands past its declared \(expectedSize) bytes") }
                    let base = out.baseAddress!
                    if offset >= n {
                        (base + o).update(from: base + o - offset, count: n)
                    } else {
                        // Overlapping copy: repeats the last `offset` bytes. Source and destination stay
                        // `offset` apart, so chunks of at most `offset` bytes never overlap.
                        var copied = 0
                        while copied < n {
                            let k = min(offset, n - copied)
                            (base + o + copied).update(from: base + o - offset + copied, count: k)
                            copied += k
                        }
                    }
                    o += n
                }
            }
            guard o == expectedSize else { throw fail("it holds \(o) bytes but declares \(expectedSize)") }
            written = o
        }
    }
}
