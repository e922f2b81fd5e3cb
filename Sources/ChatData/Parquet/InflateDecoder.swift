/// Decodes DEFLATE (RFC 1951) inside a gzip (RFC 1952) or zlib (RFC 1950) wrapper: Parquet's GZIP codec.
///
/// Output is written into a buffer of exactly the page header's declared size; a stream that would produce
/// more is rejected as soon as it tries (a decompression bomb cannot allocate more than the declared size,
/// which the caller caps). Huffman codes are decoded with one lookup table per code, indexed by the next
/// `maxLength` input bits (bit-reversed, since DEFLATE packs codes from their most significant bit).
enum InflateDecoder {
    static func decode(_ input: UnsafeBufferPointer<UInt8>, expectedSize: Int, what: String) throws -> [UInt8] {
        try [UInt8](unsafeUninitializedCapacity: expectedSize) { out, written in
            var state = Inflater(input: input, out: out, what: what)
            try state.wrapped()
            guard state.o == expectedSize else {
                throw state.fail("it holds \(state.o) bytes but the page header says \(expectedSize)")
            }
            written = state.o
        }
    }
}

private struct Huffman {
    /// Entry: symbol << 4 | code length; length 0 marks an unused bit pattern.
    var table: [UInt16]
    var maxLength: Int

    /// Builds the canonical code of RFC 1951 §3.2.2 from per-symbol code lengths (0 = unused).
    init(lengths: ArraySlice<UInt8>, what: () -> ParquetError) throws {
        var count = [Int](repeating: 0, count: 16)
        for l in lengths { count[Int(l)] += 1 }
        count[0] = 0
        maxLength = count.lastIndex(where: { $0 > 0 }) ?? 0
        guard maxLength > 0 else { throw what() }
        // An over-subscribed code would give two symbols one bit pattern.
        var left = 1
        for bits in 1...15 {
            left = left << 1 - count[bits]
            if left < 0 { throw what() }
        }
        var next = [Int](repeating: 0, count: 16)
        var code = 0
        for bits in 1...15 {
            code = (code + count[bits - 1]) << 1
            next[bits] = code
        }
        table = [UInt16](repeating: 0, count: 1 << maxLength)
        for (i, l) in lengths.enumerated() where l > 0 {
            let length = Int(l)
            let c = next[length]
            next[length] += 1
            var reversed = 0
            for b in 0..<length where c & (1 << b) != 0 { reversed |= 1 << (length - 1 - b) }
            let entry = UInt16(i << 4 | length)
            var fill = reversed
            while fill < table.count {
                table[fill] = entry
                fill += 1 << length
            }
        }
    }
}

private struct Inflater {
    let input: UnsafeBufferPointer<UInt8>
    let out: UnsafeMutableBufferPointer<UInt8>
    let what: String
    var position = 0
    var bitBuffer: UInt64 = 0
    var bitCount = 0
    var o = 0

    init(input: UnsafeBufferPointer<UInt8>, out: UnsafeMutableBufferPointer<UInt8>, what: String) {
        self.input = input
        self.out = out
        self.what = what
    }

    func fail(_ problem: String) -> ParquetError { .corrupt(what, "bad GZIP data: \(problem)") }

    // MARK: wrappers

    /// One or more gzip members, or one zlib stream.
    mutating func wrapped() throws {
        guard input.count >= 2 else { throw fail("it is shorter than a header") }
        if input[0] == 0x1F && input[1] == 0x8B {
            repeat {
                try gzipMember()
            } while input.count - position >= 2 && input[position] == 0x1F && input[position + 1] == 0x8B
        } else if input[0] & 0x0F == 8 && (Int(input[0]) << 8 | Int(input[1])) % 31 == 0 {
            guard input[1] & 0x20 == 0 else { throw fail("a zlib stream with a preset dictionary") }
            position = 2
            try inflate()
            alignToByte()
            position += 4   // Adler-32, not checked: the sizes and Huffman structure already are
        } else {
            throw fail("neither a gzip nor a zlib header")
        }
    }

    mutating func gzipMember() throws {
        let start = o
        guard input.count - position >= 10, input[position + 2] == 8 else { throw fail("a bad gzip header") }
        let flags = input[position + 3]
        position += 10
        if flags & 4 != 0 {
            guard input.count - position >= 2 else { throw fail("the gzip header ends early") }
            let extra = Int(input[position]) | Int(input[position + 1]) << 8
            position += 2
            guard input.count - position >= extra else { throw fail("the gzip header ends early") }
            position += extra
        }
        for flag in [UInt8(8), 16] where flags & flag != 0 {   // file name, comment: zero-terminated
            while position < input.count && input[position] != 0 { position += 1 }
            guard position < input.count else { throw fail("the gzip header ends early") }
            position += 1
        }
        if flags & 2 != 0 { position += 2 }
        guard position <= input.count else { throw fail("the gzip header ends early") }
        try inflate()
        alignToByte()
        guard input.count - position >= 8 else { throw fail("the gzip trailer is missing") }
        let crc = UInt32(input[position]) | UInt32(input[position + 1]) << 8 | UInt32(input[position + 2]) << 16 | UInt32(input[position + 3]) << 24
        let size = UInt32(input[position + 4]) | UInt32(input[position + 5]) << 8 | UInt32(input[position + 6]) << 16 | UInt32(input[position + 7]) << 24
        position += 8
        guard size == UInt32(truncatingIfNeeded: o - start) else { throw fail("the trailer's size does not match the data") }
        guard crc == CRC32.checksum(UnsafeBufferPointer(rebasing: out[start..<o])) else { throw fail("the CRC-32 does not match the data") }
    }

    // MARK: bits

    mutating func refill() {
        while bitCount <= 56 && position < input.count {
            bitBuffer |= UInt64(input[position]) << UInt64(bitCount)
            position += 1
            bitCount += 8
        }
    }

    mutating func bits(_ n: Int) throws -> Int {
        if bitCount < n {
            refill()
            guard bitCount >= n else { throw fail("the stream ends early") }
        }
        let v = Int(bitBuffer & ((1 << UInt64(n)) - 1))
        bitBuffer >>= UInt64(n)
        bitCount -= n
        return v
    }

    /// Drops the bits left in the current byte and gives back whole buffered bytes to the input.
    mutating func alignToByte() {
        let drop = bitCount % 8
        bitBuffer >>= UInt64(drop)
        bitCount -= drop
        position -= bitCount / 8
        bitBuffer = 0
        bitCount = 0
    }

    mutating func symbol(_ code: Huffman) throws -> Int {
        if bitCount < code.maxLength { refill() }
        let entry = code.table[Int(bitBuffer & ((1 << UInt64(code.maxLength)) - 1))]
        let length = Int(entry & 15)
        guard length > 0 && length <= bitCount else { throw fail(length == 0 ? "an unused Huffman code" : "the stream ends early") }
        bitBuffer >>= UInt64(length)
        bitCount -= length
        return Int(entry >> 4)
    }

    // MARK: blocks

    mutating func inflate() throws {
        var last = false
        while !last {
            last = try bits(1) == 1
            switch try bits(2) {
            case 0: try storedBlock()
            case 1: try huffmanBlock(Inflater.fixedLiterals, Inflater.fixedDistances)
            case 2:
                let (literals, distances) = try dynamicCodes()
                try huffmanBlock(literals, distances)
            default: throw fail("a block of reserved type 3")
            }
        }
    }

    mutating func storedBlock() throws {
        alignToByte()
        guard input.count - position >= 4 else { throw fail("a stored block header ends early") }
        let length = Int(input[position]) | Int(input[position + 1]) << 8
        let check = Int(input[position + 2]) | Int(input[position + 3]) << 8
        position += 4
        guard length == check ^ 0xFFFF else { throw fail("a stored block's length check fails") }
        guard input.count - position >= length else { throw fail("a stored block runs past the end") }
        guard out.count - o >= length else { throw fail("it expands past the page header's declared size") }
        for i in 0..<length { out[o + i] = input[position + i] }
        position += length
        o += length
    }

    static let lengthBase = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
    static let lengthExtra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    static let distanceBase = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073,
                               4097, 6145, 8193, 12289, 16385, 24577]
    static let distanceExtra = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]

    static let fixedLiterals: Huffman = {
        var lengths = [UInt8](repeating: 8, count: 288)
        for i in 144..<256 { lengths[i] = 9 }
        for i in 256..<280 { lengths[i] = 7 }
        return try! Huffman(lengths: lengths[...], what: { ParquetError.corrupt("", "") })   // a valid fixed code
    }()
    static let fixedDistances: Huffman = {
        try! Huffman(lengths: [UInt8](repeating: 5, count: 30)[...], what: { ParquetError.corrupt("", "") })
    }()

    mutating func huffmanBlock(_ literals: Huffman, _ distances: Huffman) throws {
        while true {
            let s = try symbol(literals)
            if s < 256 {
                guard o < out.count else { throw fail("it expands past the page header's declared size") }
                out[o] = UInt8(s)
                o += 1
            } else if s == 256 {
                return
            } else {
                let li = s - 257
                guard li < 29 else { throw fail("an invalid length symbol \(s)") }
                let length = Inflater.lengthBase[li] + (try bits(Inflater.lengthExtra[li]))
                let di = try symbol(distances)
                guard di < 30 else { throw fail("an invalid distance symbol \(di)") }
                let distance = Inflater.distanceBase[di] + (try bits(Inflater.distanceExtra[di]))
                guard distance <= o else { throw fail("a copy refers \(distance) bytes back, before the start") }
                guard out.count - o >= length else { throw fail("it expands past the page header's declared size") }
                for i in 0..<length { out[o + i] = out[o - distance + i] }
                o += length
            }
        }
    }

    /// The literal/length and distance codes of a dynamic block (RFC 1951 §3.2.7).
    mutating func dynamicCodes() throws -> (Huffman, Huffman) {
        let literalCount = try bits(5) + 257
        let distanceCount = try bits(5) + 1
        let codeLengthCount = try bits(4) + 4
        guard literalCount <= 286 && distanceCount <= 30 else { throw fail("too many codes in a dynamic block") }
        let order = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]
        var codeLengths = [UInt8](repeating: 0, count: 19)
        for i in 0..<codeLengthCount { codeLengths[order[i]] = UInt8(try bits(3)) }
        let lengthCode = try Huffman(lengths: codeLengths[...], what: { fail("a bad code-length code") })
        var lengths = [UInt8](repeating: 0, count: literalCount + distanceCount)
        var i = 0
        while i < lengths.count {
            let s = try symbol(lengthCode)
            var repeatValue: UInt8 = 0
            var times = 0
            switch s {
            case 0..<16:
                lengths[i] = UInt8(s)
                i += 1
                continue
            case 16:
                guard i > 0 else { throw fail("a repeat with no previous length") }
                repeatValue = lengths[i - 1]
                times = 3 + (try bits(2))
            case 17: times = 3 + (try bits(3))
            default: times = 11 + (try bits(7))
            }
            guard lengths.count - i >= times else { throw fail("code lengths run past their count") }
            for _ in 0..<times {
                lengths[i] = repeatValue
                i += 1
            }
        }
        guard lengths[256] > 0 else { throw fail("a block without an end-of-block code") }
        let literals = try Huffman(lengths: lengths[0..<literalCount], what: { fail("a bad literal/length code") })
        let distanceLengths = lengths[literalCount...]
        // A block of literals only may have no distance code at all; give it one unusable entry.
        let distances = distanceLengths.contains(where: { $0 > 0 })
            ? try Huffman(lengths: distanceLengths, what: { fail("a bad distance code") })
            : try Huffman(lengths: [1][...], what: { fail("a bad distance code") })
        return (literals, distances)
    }
}

/// CRC-32 (IEEE, reflected, as gzip uses it).
enum CRC32 {
    static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func checksum(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        table.withUnsafeBufferPointer { t in
            for b in bytes { c = t[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        }
        return c ^ 0xFFFF_FFFF
    }
}
