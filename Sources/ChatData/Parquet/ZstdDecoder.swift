/// Decodes Zstandard frames (RFC 8878), Parquet's ZSTD codec: raw, RLE and compressed blocks; literals raw,
/// RLE or Huffman-coded (1 or 4 streams, FSE-compressed or direct weights); sequences with predefined, RLE,
/// FSE-described or repeated tables; repeat offsets. Dictionaries are refused; the content checksum is skipped.
///
/// Output goes into a buffer of exactly the page header's declared size; every literal, match and table is
/// bounds-checked, so a hostile frame gives an error, never an over-read or an output past the declared size.
enum ZstdDecoder {
    static func decode(_ input: UnsafeBufferPointer<UInt8>, expectedSize: Int, what: String) throws -> [UInt8] {
        try [UInt8](unsafeUninitializedCapacity: expectedSize) { out, written in
            var state = ZstdFrameDecoder(input: input, out: out, what: what)
            while state.position < input.count { try state.frame() }
            guard state.o == expectedSize else {
                throw state.fail("it holds \(state.o) bytes but the page header says \(expectedSize)")
            }
            written = state.o
        }
    }
}

/// Reads bits from the end of a stream towards its start, as Zstandard's FSE and Huffman streams are written.
/// The last byte's highest set bit marks the end; reads past the start yield zeros and make `overflowed` true.
private struct BackwardBits {
    let bytes: UnsafeBufferPointer<UInt8>
    /// Bits not yet read, counted from the start of `bytes`.
    var left: Int

    init(_ bytes: UnsafeBufferPointer<UInt8>, fail: () -> ParquetError) throws {
        guard let last = bytes.last, last != 0 else { throw fail() }
        self.bytes = bytes
        left = (bytes.count - 1) * 8 + (7 - last.leadingZeroBitCount)
    }

    var overflowed: Bool { left < 0 }

    /// The `n` (≤ 32) bits just below the read position, most significant first, without consuming them.
    func peek(_ n: Int) -> UInt32 {
        if n == 0 { return 0 }
        let low = left - n
        var value: UInt64 = 0
        let firstBit = max(low, 0)
        if firstBit < left {
            let firstByte = firstBit / 8
            let lastByte = (left - 1) / 8
            for i in stride(from: lastByte, through: firstByte, by: -1) { value = value << 8 | UInt64(bytes[i]) }
            value >>= UInt64(firstBit - firstByte * 8)
            value &= (1 << UInt64(left - firstBit)) - 1
        }
        return UInt32(truncatingIfNeeded: low < 0 ? value << UInt64(-low) : value)
    }

    mutating func read(_ n: Int) -> UInt32 {
        let v = peek(n)
        left -= n
        return v
    }
}

/// A finite-state-entropy decoding table (RFC 8878 §4.1).
private struct FSETable {
    var symbol: [UInt8]
    var bits: [UInt8]
    var base: [UInt16]
    var accuracyLog: Int

    /// Builds the table from normalized counts (-1 = "less than one").
    init(counts: [Int], accuracyLog: Int, fail: () -> ParquetError) throws {
        let size = 1 << accuracyLog
        symbol = [UInt8](repeating: 0, count: size)
        bits = [UInt8](repeating: 0, count: size)
        base = [UInt16](repeating: 0, count: size)
        self.accuracyLog = accuracyLog
        var next = [Int](repeating: 0, count: counts.count)
        var high = size - 1
        for (s, c) in counts.enumerated() {
            if c == -1 {
                guard high >= 0 else { throw fail() }
                symbol[high] = UInt8(s)
                high -= 1
                next[s] = 1
            } else {
                next[s] = c
            }
        }
        let step = (size >> 1) + (size >> 3) + 3
        var position = 0
        for (s, c) in counts.enumerated() where c > 0 {
            for _ in 0..<c {
                symbol[position] = UInt8(s)
                repeat { position = (position + step) & (size - 1) } while position > high
            }
        }
        guard position == 0 else { throw fail() }
        for u in 0..<size {
            let s = Int(symbol[u])
            let state = next[s]
            next[s] += 1
            guard state > 0 else { throw fail() }
            let nb = accuracyLog - (Int.bitWidth - 1 - state.leadingZeroBitCount)
            bits[u] = UInt8(nb)
            base[u] = UInt16(truncatingIfNeeded: (state << nb) - size)
        }
    }

    /// A one-symbol table (RLE mode).
    init(rle s: UInt8) {
        symbol = [s]
        bits = [0]
        base = [0]
        accuracyLog = 0
    }

    /// Reads an FSE table description from `bytes[position...]` (forward bit order) and advances `position`.
    static func read(_ bytes: UnsafeBufferPointer<UInt8>, _ position: inout Int, maxSymbol: Int, maxLog: Int,
                     fail: () -> ParquetError) throws -> FSETable {
        var bit = position * 8
        func bitsAt(_ n: Int) throws -> Int {
            var v = 0
            for i in 0..<n {
                let b = bit + i
                guard b / 8 < bytes.count else { throw fail() }
                v |= Int(bytes[b / 8] >> UInt8(b % 8) & 1) << i
            }
            return v
        }
        let log = try bitsAt(4) + 5
        bit += 4
        guard log <= maxLog else { throw fail() }
        var remaining = (1 << log) + 1
        var threshold = 1 << log
        var nbBits = log + 1
        var counts: [Int] = []
        var previousZero = false
        while remaining > 1 && counts.count <= maxSymbol {
            if previousZero {
                var repeats = try bitsAt(2)
                bit += 2
                var zeros = repeats
                while repeats == 3 {
                    repeats = try bitsAt(2)
                    bit += 2
                    zeros += repeats
                }
                for _ in 0..<zeros { counts.append(0) }
                guard counts.count <= maxSymbol else { throw fail() }
            }
            let maxValue = 2 * threshold - 1 - remaining
            var value = try bitsAt(nbBits - 1)
            if value < maxValue {
                bit += nbBits - 1
            } else {
                value = try bitsAt(nbBits)
                if value >= threshold { value -= maxValue }
                bit += nbBits
            }
            let count = value - 1
            remaining -= abs(count)
            counts.append(count)
            previousZero = count == 0
            while remaining < threshold && threshold > 1 {
                nbBits -= 1
                threshold >>= 1
            }
        }
        guard remaining == 1 else { throw fail() }
        position = (bit + 7) / 8
        return try FSETable(counts: counts, accuracyLog: log, fail: fail)
    }
}

private struct FSEState {
    var state: Int

    init(_ table: FSETable, _ bits: inout BackwardBits) {
        state = Int(bits.read(table.accuracyLog))
    }

    func symbol(_ table: FSETable) -> Int { Int(table.symbol[state]) }

    mutating func update(_ table: FSETable, _ bits: inout BackwardBits) {
        state = Int(table.base[state]) + Int(bits.read(Int(table.bits[state])))
    }
}

private struct ZstdFrameDecoder {
    let input: UnsafeBufferPointer<UInt8>
    let out: UnsafeMutableBufferPointer<UInt8>
    let what: String
    var position = 0
    var o = 0
    var frameStart = 0
    var repeats = [1, 4, 8]
    var huffman: (symbol: [UInt8], bits: [UInt8], maxBits: Int)?
    var literalTable: FSETable?
    var offsetTable: FSETable?
    var matchTable: FSETable?

    init(input: UnsafeBufferPointer<UInt8>, out: UnsafeMutableBufferPointer<UInt8>, what: String) {
        self.input = input
        self.out = out
        self.what = what
    }

    func fail(_ problem: String) -> ParquetError { .corrupt(what, "bad ZSTD data: \(problem)") }

    func le(_ at: Int, _ n: Int) -> Int {
        var v = 0
        for i in 0..<n { v |= Int(input[at + i]) << (8 * i) }
        return v
    }

    mutating func need(_ n: Int) throws {
        guard input.count - position >= n else { throw fail("it ends early") }
    }

    mutating func frame() throws {
        try need(4)
        let magic = le(position, 4)
        position += 4
        if magic & ~0xF == 0x184D_2A50 {   // skippable frame
            try need(4)
            let size = le(position, 4)
            position += 4
            try need(size)
            position += size
            return
        }
        guard magic == 0xFD2F_B528 else { throw fail("no frame magic number") }
        try need(1)
        let descriptor = Int(input[position])
        position += 1
        let singleSegment = descriptor >> 5 & 1 == 1
        guard descriptor & 8 == 0 else { throw fail("a reserved header bit is set") }
        if !singleSegment { try need(1); position += 1 }   // window size: the whole page is in memory anyway
        let dictionaryBytes = [0, 1, 2, 4][descriptor & 3]
        try need(dictionaryBytes)
        guard dictionaryBytes == 0 || le(position, dictionaryBytes) == 0 else {
            throw ParquetError.unsupported(what, "a ZSTD frame that needs a dictionary")
        }
        position += dictionaryBytes
        let sizeFlag = descriptor >> 6
        let sizeBytes = sizeFlag == 0 ? (singleSegment ? 1 : 0) : [0, 2, 4, 8][sizeFlag]
        try need(sizeBytes)
        position += sizeBytes
        frameStart = o
        repeats = [1, 4, 8]
        huffman = nil
        literalTable = nil
        offsetTable = nil
        matchTable = nil
        var last = false
        while !last {
            try need(3)
            let header = le(position, 3)
            position += 3
            last = header & 1 == 1
            let size = header >> 3
            switch header >> 1 & 3 {
            case 0:
                try need(size)
                guard out.count - o >= size else { throw fail("it expands past the page header's declared size") }
                for i in 0..<size { out[o + i] = input[position + i] }
                position += size
                o += size
            case 1:
                try need(1)
                guard out.count - o >= size else { throw fail("it expands past the page header's declared size") }
                for i in 0..<size { out[o + i] = input[position] }
                position += 1
                o += size
            case 2:
                try need(size)
                try compressedBlock(UnsafeBufferPointer(rebasing: input[position..<(position + size)]))
                position += size
            default:
                throw fail("a block of reserved type")
            }
        }
        if descriptor >> 2 & 1 == 1 { try need(4); position += 4 }   // content checksum, not verified
    }

    // MARK: literals

    mutating func compressedBlock(_ block: UnsafeBufferPointer<UInt8>) throws {
        var p = 0
        let literals = try literalsSection(block, &p)
        try sequencesSection(block, &p, literals: literals)
    }

    mutating func literalsSection(_ block: UnsafeBufferPointer<UInt8>, _ p: inout Int) throws -> [UInt8] {
        func byte(_ i: Int) throws -> Int {
            guard i < block.count else { throw fail("a literals header ends early") }
            return Int(block[i])
        }
        let b0 = try byte(p)
        let type = b0 & 3
        let sizeFormat = b0 >> 2 & 3
        if type < 2 {
            var size: Int
            switch sizeFormat {
            case 0, 2: size = b0 >> 3; p += 1
            case 1: size = b0 >> 4 | (try byte(p + 1)) << 4; p += 2
            default: size = b0 >> 4 | (try byte(p + 1)) << 4 | (try byte(p + 2)) << 12; p += 3
            }
            if type == 0 {
                guard block.count - p >= size else { throw fail("raw literals run past the block") }
                defer { p += size }
                return Array(UnsafeBufferPointer(rebasing: block[p..<(p + size)]))
            }
            let value = UInt8(try byte(p))
            p += 1
            return [UInt8](repeating: value, count: size)
        }
        let headerBytes = [3, 3, 4, 5][sizeFormat]
        var header = 0
        for i in 0..<headerBytes { header |= (try byte(p + i)) << (8 * i) }
        p += headerBytes
        let fieldBits = [10, 10, 14, 18][sizeFormat]
        let regenerated = header >> 4 & ((1 << fieldBits) - 1)
        let compressed = header >> (4 + fieldBits) & ((1 << fieldBits) - 1)
        let streams = sizeFormat == 0 ? 1 : 4
        guard block.count - p >= compressed else { throw fail("compressed literals run past the block") }
        let section = UnsafeBufferPointer(rebasing: block[p..<(p + compressed)])
        p += compressed
        var q = 0
        if type == 2 { try readHuffmanTable(section, &q) }
        guard let table = huffman else { throw fail("repeated Huffman literals without a previous table") }
        var literals = [UInt8](repeating: 0, count: regenerated)
        if streams == 1 {
            try decodeHuffmanStream(UnsafeBufferPointer(rebasing: section[q...]), table, into: &literals, 0..<regenerated)
        } else {
            guard section.count - q >= 6 else { throw fail("the literal jump table is missing") }
            let sizes = [le16(section, q), le16(section, q + 2), le16(section, q + 4)]
            q += 6
            let perStream = (regenerated + 3) / 4
            var start = q
            for s in 0..<4 {
                let size = s < 3 ? sizes[s] : section.count - start
                guard size >= 0, section.count - start >= size else { throw fail("literal streams run past the block") }
                let lower = min(s * perStream, regenerated), upper = s < 3 ? min((s + 1) * perStream, regenerated) : regenerated
                try decodeHuffmanStream(UnsafeBufferPointer(rebasing: section[start..<(start + size)]), table, into: &literals, lower..<upper)
                start += size
            }
        }
        return literals
    }

    func le16(_ b: UnsafeBufferPointer<UInt8>, _ i: Int) -> Int { Int(b[i]) | Int(b[i + 1]) << 8 }

    mutating func readHuffmanTable(_ section: UnsafeBufferPointer<UInt8>, _ q: inout Int) throws {
        guard q < section.count else { throw fail("the Huffman table is missing") }
        let header = Int(section[q])
        q += 1
        var weights: [Int] = []
        if header >= 128 {
            let count = header - 127
            guard section.count - q >= (count + 1) / 2 else { throw fail("Huffman weights run past the block") }
            for i in 0..<count {
                let b = Int(section[q + i / 2])
                weights.append(i % 2 == 0 ? b >> 4 : b & 15)
            }
            q += (count + 1) / 2
        } else {
            guard section.count - q >= header, header > 0 else { throw fail("Huffman weights run past the block") }
            let stream = UnsafeBufferPointer(rebasing: section[q..<(q + header)])
            var p = 0
            let table = try FSETable.read(stream, &p, maxSymbol: 255, maxLog: 6, fail: { fail("a bad FSE table for Huffman weights") })
            var bits = try BackwardBits(UnsafeBufferPointer(rebasing: stream[p...]), fail: { fail("a bad Huffman weight stream") })
            var s1 = FSEState(table, &bits), s2 = FSEState(table, &bits)
            while weights.count < 255 {
                weights.append(s1.symbol(table))
                s1.update(table, &bits)
                if bits.overflowed { weights.append(s2.symbol(table)); break }
                weights.append(s2.symbol(table))
                s2.update(table, &bits)
                if bits.overflowed { weights.append(s1.symbol(table)); break }
            }
            q += header
        }
        // The last symbol's weight is implied: the weights must sum to a power of two.
        var total = 0
        for w in weights where w > 0 {
            guard w <= 11 else { throw fail("a Huffman weight above 11") }
            total += 1 << (w - 1)
        }
        guard total > 0 else { throw fail("empty Huffman weights") }
        let maxBits = Int.bitWidth - total.leadingZeroBitCount   // highest bit + 1
        let rest = (1 << maxBits) - total
        guard rest > 0, rest & (rest - 1) == 0, maxBits <= 11 else { throw fail("Huffman weights do not sum to a power of two") }
        weights.append(rest.trailingZeroBitCount + 1)
        guard weights.count <= 256 else { throw fail("too many Huffman symbols") }
        var rankCount = [Int](repeating: 0, count: 13)
        for w in weights { rankCount[w] += 1 }
        var rankStart = [Int](repeating: 0, count: 13)
        var next = 0
        for w in 1...12 {
            rankStart[w] = next
            next += rankCount[w] << (w - 1)
        }
        let size = 1 << maxBits
        var symbol = [UInt8](repeating: 0, count: size), bits = [UInt8](repeating: 0, count: size)
        for (s, w) in weights.enumerated() where w > 0 {
            let length = 1 << (w - 1)
            for i in rankStart[w]..<(rankStart[w] + length) {
                symbol[i] = UInt8(s)
                bits[i] = UInt8(maxBits + 1 - w)
            }
            rankStart[w] += length
        }
        huffman = (symbol, bits, maxBits)
    }

    func decodeHuffmanStream(_ stream: UnsafeBufferPointer<UInt8>, _ table: (symbol: [UInt8], bits: [UInt8], maxBits: Int),
                             into literals: inout [UInt8], _ range: Range<Int>) throws {
        if range.isEmpty && stream.isEmpty { return }
        var bits = try BackwardBits(stream, fail: { fail("a bad Huffman literal stream") })
        for i in range {
            let index = Int(bits.peek(table.maxBits))
            literals[i] = table.symbol[index]
            bits.left -= Int(table.bits[index])
        }
        guard bits.left == 0 else { throw fail("a Huffman literal stream does not end where it should") }
    }

    // MARK: sequences

    static let literalLengthBase = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 18, 20, 22, 24, 28, 32, 40, 48, 64,
                                    128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536]
    static let literalLengthBits = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 3, 4, 6, 7, 8, 9, 10, 11,
                                    12, 13, 14, 15, 16]
    static let matchLengthBase = Array(3...34) + [35, 37, 39, 41, 43, 47, 51, 59, 67, 83, 99, 131, 259, 515, 1027, 2051, 4099,
                                                  8195, 16387, 32771, 65539]
    static let matchLengthBits = [Int](repeating: 0, count: 32) + [1, 1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14,
                                                                    15, 16]
    static let literalLengthDefault = [4, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 2, 1, 1, 1, 1,
                                       1, -1, -1, -1, -1]
    static let matchLengthDefault = [1, 4, 3, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                                     1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1, -1, -1]
    static let offsetDefault = [1, 1, 1, 1, 1, 1, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1]

    func table(mode: Int, _ block: UnsafeBufferPointer<UInt8>, _ p: inout Int, defaults: [Int], defaultLog: Int,
                        maxSymbol: Int, maxLog: Int, previous: FSETable?, name: String) throws -> FSETable {
        let bad = { self.fail("a bad \(name) table") }
        switch mode {
        case 0: return try FSETable(counts: defaults, accuracyLog: defaultLog, fail: bad)
        case 1:
            guard p < block.count, Int(block[p]) <= maxSymbol else { throw bad() }
            p += 1
            return FSETable(rle: block[p - 1])
        case 2: return try FSETable.read(block, &p, maxSymbol: maxSymbol, maxLog: maxLog, fail: bad)
        default:
            guard let previous else { throw fail("a repeated \(name) table without a previous one") }
            return previous
        }
    }

    mutating func sequencesSection(_ block: UnsafeBufferPointer<UInt8>, _ p: inout Int, literals: [UInt8]) throws {
        guard p < block.count else { throw fail("the sequences section is missing") }
        var count = Int(block[p])
        p += 1
        if count >= 128 {
            guard p < block.count else { throw fail("the sequence count ends early") }
            if count < 255 {
                count = (count - 128) << 8 | Int(block[p])
                p += 1
            } else {
                guard block.count - p >= 2 else { throw fail("the sequence count ends early") }
                count = Int(block[p]) | Int(block[p + 1]) << 8 | 0x7F00
                p += 2
            }
        }
        var literalPosition = 0
        if count > 0 {
            guard p < block.count, block[p] & 3 == 0 else { throw fail("bad sequence compression modes") }
            let modes = Int(block[p])
            p += 1
            let ll = try table(mode: modes >> 6, block, &p, defaults: Self.literalLengthDefault, defaultLog: 6, maxSymbol: 35,
                               maxLog: 9, previous: literalTable, name: "literal length")
            let of = try table(mode: modes >> 4 & 3, block, &p, defaults: Self.offsetDefault, defaultLog: 5, maxSymbol: 31,
                               maxLog: 8, previous: offsetTable, name: "offset")
            let ml = try table(mode: modes >> 2 & 3, block, &p, defaults: Self.matchLengthDefault, defaultLog: 6, maxSymbol: 52,
                               maxLog: 9, previous: matchTable, name: "match length")
            literalTable = ll
            offsetTable = of
            matchTable = ml
            var bits = try BackwardBits(UnsafeBufferPointer(rebasing: block[p...]), fail: { fail("a bad sequence stream") })
            var llState = FSEState(ll, &bits), ofState = FSEState(of, &bits), mlState = FSEState(ml, &bits)
            for n in 0..<count {
                let ofCode = ofState.symbol(of), llCode = llState.symbol(ll), mlCode = mlState.symbol(ml)
                guard ofCode <= 31, llCode < Self.literalLengthBase.count, mlCode < Self.matchLengthBase.count else {
                    throw fail("a sequence code out of range")
                }
                let offsetValue = (1 << ofCode) + Int(bits.read(ofCode))
                let matchLength = Self.matchLengthBase[mlCode] + Int(bits.read(Self.matchLengthBits[mlCode]))
                let literalLength = Self.literalLengthBase[llCode] + Int(bits.read(Self.literalLengthBits[llCode]))
                var offset: Int
                if offsetValue > 3 {
                    offset = offsetValue - 3
                    repeats = [offset, repeats[0], repeats[1]]
                } else {
                    let index = offsetValue - 1 + (literalLength == 0 ? 1 : 0)
                    if index == 0 {
                        offset = repeats[0]
                    } else {
                        offset = index == 3 ? repeats[0] - 1 : repeats[index]
                        if index == 1 { repeats = [offset, repeats[0], repeats[2]] } else { repeats = [offset, repeats[0], repeats[1]] }
                    }
                }
                if n < count - 1 {
                    llState.update(ll, &bits)
                    mlState.update(ml, &bits)
                    ofState.update(of, &bits)
                }
                guard !bits.overflowed else { throw fail("the sequence stream ends early") }
                guard literals.count - literalPosition >= literalLength else { throw fail("a sequence uses more literals than the block has") }
                guard out.count - o >= literalLength + matchLength else { throw fail("it expands past the page header's declared size") }
                for i in 0..<literalLength { out[o + i] = literals[literalPosition + i] }
                literalPosition += literalLength
                o += literalLength
                guard offset > 0, offset <= o - frameStart else { throw fail("a match refers \(offset) bytes back, before the frame") }
                for i in 0..<matchLength { out[o + i] = out[o - offset + i] }
                o += matchLength
            }
            guard bits.left == 0 else { throw fail("the sequence stream does not end where it should") }
        }
        let rest = literals.count - literalPosition
        guard out.count - o >= rest else { throw fail("it expands past the page header's declared size") }
        for i in 0..<rest { out[o + i] = literals[literalPosition + i] }
        o += rest
    }
}
