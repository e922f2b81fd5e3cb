/// Values of one leaf column in one row group: the levels of every entry and the non-null values in order.
struct ParquetLeafColumn {
    /// One per entry; empty when the leaf's max definition level is 0 (every entry is defined).
    var definitions: [UInt8] = []
    /// One per entry; empty when the leaf is not inside a list.
    var repetitions: [UInt8] = []
    /// The non-null values, in the array that matches the leaf's type (the others stay empty).
    var strings: [String] = []
    var integers: [Int64] = []
    var booleans: [Bool] = []
    /// Number of entries (levels), nulls and empty lists included.
    var count = 0
    /// Data pages read (v1 and v2).
    var dataPages = 0

    mutating func append(_ values: ParquetValues) {
        switch values {
        case .strings(let v): strings.append(contentsOf: v)
        case .integers(let v): integers.append(contentsOf: v)
        case .booleans(let v): booleans.append(contentsOf: v)
        }
    }
}

/// Non-null values of a leaf, as the JSON-like values the dataset reader converts.
enum ParquetValues {
    case strings([String])
    case integers([Int64])
    case booleans([Bool])

    var count: Int {
        switch self {
        case .strings(let v): return v.count
        case .integers(let v): return v.count
        case .booleans(let v): return v.count
        }
    }
}

/// Size bounds that keep a hostile file from making the reader allocate without limit.
struct ParquetLimits {
    /// Largest page, compressed or not, in bytes.
    var maxPageBytes = 256 << 20
    /// Most entries (levels) in one page; run-length encoded levels can claim many entries in few bytes.
    var maxPageValues = 1 << 24
}

/// Decodes the pages of one column chunk: dictionary page, data pages v1 and v2, PLAIN and dictionary
/// encodings, RLE / bit-packed levels, UNCOMPRESSED, SNAPPY, GZIP and ZSTD.
/// Page layout: https://parquet.apache.org/docs/file-format/data-pages/
struct ParquetColumnReader {
    let leaf: ParquetLeaf
    let meta: ParquetColumnMetadata
    let limits: ParquetLimits
    /// "column \"messages.list.element.role\"", for messages.
    let what: String

    func read(_ chunk: [UInt8]) throws -> ParquetLeafColumn {
        var column = ParquetLeafColumn()
        var dictionary: ParquetValues?
        var position = 0
        var page = 0
        var seen: Int64 = 0
        while seen < meta.numValues {
            let here = "\(what), page \(page)"
            guard position < chunk.count else {
                throw ParquetError.corrupt(here, "the column chunk ends after \(seen) of its \(meta.numValues) values")
            }
            var thrift = ThriftCompactReader(chunk, from: position, to: chunk.count, what: "\(here) header")
            let header = try ParquetPageHeader.decode(&thrift)
            position = thrift.position
            guard header.compressedSize >= 0, Int(header.compressedSize) <= chunk.count - position else {
                throw ParquetError.corrupt(here, "the page claims \(header.compressedSize) bytes but the column chunk has \(chunk.count - position) left")
            }
            guard header.uncompressedSize >= 0 else {
                throw ParquetError.corrupt(here, "the page's uncompressed size is \(header.uncompressedSize)")
            }
            guard Int(header.uncompressedSize) <= limits.maxPageBytes else {
                throw ParquetError.corrupt(here, "the page declares \(header.uncompressedSize) bytes uncompressed, more than the \(limits.maxPageBytes) this reader accepts")
            }
            let body = position..<(position + Int(header.compressedSize))
            position = body.upperBound
            page += 1
            switch ParquetPageType(rawValue: header.type) {
            case .dictionaryPage:
                guard dictionary == nil, column.count == 0 else {
                    throw ParquetError.corrupt(here, "a second dictionary page, or one after data pages")
                }
                let bytes = try decompress(chunk, body, size: Int(header.uncompressedSize), what: here)
                guard header.numValues >= 0, Int(header.numValues) <= bytes.count * 8 else {
                    throw ParquetError.corrupt(here, "the dictionary claims \(header.numValues) values in \(bytes.count) bytes")
                }
                guard header.encoding == ParquetEncoding.plain || header.encoding == ParquetEncoding.plainDictionary else {
                    throw ParquetError.unsupported(here, "a dictionary page in \(ParquetEncoding.name(header.encoding)) encoding")
                }
                dictionary = try bytes.withUnsafeBufferPointer {
                    try plainValues($0, count: Int(header.numValues), what: here)
                }
            case .dataPage, .dataPageV2:
                guard header.sawDataHeader, header.numValues >= 0, Int64(header.numValues) <= meta.numValues - seen else {
                    throw ParquetError.corrupt(here, "the page holds \(header.numValues) values, more than the \(meta.numValues - seen) the column chunk has left")
                }
                guard Int(header.numValues) <= limits.maxPageValues else {
                    throw ParquetError.corrupt(here, "the page claims \(header.numValues) values, more than the \(limits.maxPageValues) this reader accepts")
                }
                try readDataPage(header, chunk, body, dictionary: dictionary, into: &column, what: here)
                seen += Int64(header.numValues)
            case .indexPage:
                continue
            case nil:
                throw ParquetError.corrupt(here, "unknown page type \(header.type)")
            }
        }
        return column
    }

    private func decompress(_ chunk: [UInt8], _ range: Range<Int>, size: Int, what: String) throws -> [UInt8] {
        try chunk.withUnsafeBufferPointer { all in
            let input = UnsafeBufferPointer(rebasing: all[range])
            switch meta.codec {
            case .uncompressed:
                guard input.count == size else {
                    throw ParquetError.corrupt(what, "an uncompressed page of \(input.count) bytes declares \(size)")
                }
                return Array(input)
            case .snappy: return try SnappyDecoder.decode(input, expectedSize: size, what: what)
            case .gzip: return try InflateDecoder.decode(input, expectedSize: size, what: what)
            case .zstd: return try ZstdDecoder.decode(input, expectedSize: size, what: what)
            default:
                throw ParquetError(location: what, problem: "the \(meta.codec.name) codec is not supported (UNCOMPRESSED, SNAPPY, GZIP and ZSTD are)",
                                   fix: "re-save the file with Snappy, e.g. pq.write_table(pq.read_table(f), f2, compression=\"snappy\")")
            }
        }
    }

    private func readDataPage(_ header: ParquetPageHeader, _ chunk: [UInt8], _ body: Range<Int>,
                              dictionary: ParquetValues?, into column: inout ParquetLeafColumn, what: String) throws {
        let entries = Int(header.numValues)
        // The page's levels and values, uncompressed: v1 compresses them together; v2 stores the levels
        // raw in front and compresses only the values (unless is_compressed is false).
        let page: [UInt8]
        var levelsEnd = 0
        var repetitionRange = 0..<0
        var definitionRange = 0..<0
        if header.type == ParquetPageType.dataPageV2.rawValue {
            let repLength = Int(header.repetitionLevelsLength), defLength = Int(header.definitionLevelsLength)
            guard repLength >= 0, defLength >= 0, repLength + defLength <= body.count,
                  repLength + defLength <= Int(header.uncompressedSize) else {
                throw ParquetError.corrupt(what, "level lengths \(repLength) + \(defLength) do not fit the page's \(body.count) bytes")
            }
            let valuesStart = body.lowerBound + repLength + defLength
            let valueSize = Int(header.uncompressedSize) - repLength - defLength
            let values: [UInt8]
            if header.isCompressed && meta.codec != .uncompressed {
                values = try decompress(chunk, valuesStart..<body.upperBound, size: valueSize, what: what)
            } else {
                guard body.upperBound - valuesStart == valueSize else {
                    throw ParquetError.corrupt(what, "an uncompressed page of \(body.count) bytes declares \(header.uncompressedSize)")
                }
                values = Array(chunk[valuesStart..<body.upperBound])
            }
            page = Array(chunk[body.lowerBound..<valuesStart]) + values
            repetitionRange = 0..<repLength
            definitionRange = repLength..<(repLength + defLength)
            levelsEnd = repLength + defLength
        } else {
            page = try decompress(chunk, body, size: Int(header.uncompressedSize), what: what)
            // v1: each level stream is prefixed by its 4-byte little-endian length.
            func prefixed(_ at: Int, _ name: String, encoding: Int32) throws -> Range<Int> {
                guard encoding == ParquetEncoding.rle else {
                    throw ParquetError.unsupported(what, "\(name) levels in \(ParquetEncoding.name(encoding)) encoding")
                }
                guard page.count - at >= 4 else { throw ParquetError.corrupt(what, "the \(name) levels' length runs past the page") }
                let length = Int(page[at]) | Int(page[at + 1]) << 8 | Int(page[at + 2]) << 16 | Int(page[at + 3]) << 24
                guard length <= page.count - at - 4 else {
                    throw ParquetError.corrupt(what, "\(name) levels of \(length) bytes run past the page's \(page.count) bytes")
                }
                return (at + 4)..<(at + 4 + length)
            }
            if leaf.maxRepetition > 0 {
                repetitionRange = try prefixed(0, "repetition", encoding: header.repetitionLevelEncoding)
                levelsEnd = repetitionRange.upperBound
            }
            if leaf.maxDefinition > 0 {
                definitionRange = try prefixed(levelsEnd, "definition", encoding: header.definitionLevelEncoding)
                levelsEnd = definitionRange.upperBound
            }
        }
        try page.withUnsafeBufferPointer { bytes in
            let firstDefinition = column.definitions.count
            if leaf.maxRepetition > 0 {
                try RLEBitPackedDecoder.decode(UnsafeBufferPointer(rebasing: bytes[repetitionRange]),
                                               bitWidth: RLEBitPackedDecoder.bitWidth(leaf.maxRepetition),
                                               maxValue: UInt32(leaf.maxRepetition), count: entries,
                                               into: &column.repetitions, what: what + " repetition levels")
            }
            var present = entries
            if leaf.maxDefinition > 0 {
                try RLEBitPackedDecoder.decode(UnsafeBufferPointer(rebasing: bytes[definitionRange]),
                                               bitWidth: RLEBitPackedDecoder.bitWidth(leaf.maxDefinition),
                                               maxValue: UInt32(leaf.maxDefinition), count: entries,
                                               into: &column.definitions, what: what + " definition levels")
                let top = UInt8(leaf.maxDefinition)
                present = 0
                for d in column.definitions[firstDefinition...] where d == top { present += 1 }
            }
            let values = UnsafeBufferPointer(rebasing: bytes[levelsEnd...])
            try appendValues(values, count: present, encoding: header.encoding, dictionary: dictionary,
                             to: &column, what: what)
        }
        column.count += entries
        column.dataPages += 1
    }

    // MARK: values

    private func appendValues(_ bytes: UnsafeBufferPointer<UInt8>, count: Int, encoding: Int32, dictionary: ParquetValues?,
                              to column: inout ParquetLeafColumn, what: String) throws {
        switch encoding {
        case ParquetEncoding.plain:
            column.append(try plainValues(bytes, count: count, what: what))
        case ParquetEncoding.rleDictionary, ParquetEncoding.plainDictionary:
            guard let dictionary else { throw ParquetError.corrupt(what, "dictionary-encoded values without a dictionary page") }
            if count == 0 { return }
            guard bytes.count >= 1 else { throw ParquetError.corrupt(what, "the dictionary indices are missing") }
            guard dictionary.count > 0 else { throw ParquetError.corrupt(what, "dictionary indices into an empty dictionary") }
            var indices: [Int32] = []
            try RLEBitPackedDecoder.decode(UnsafeBufferPointer(rebasing: bytes[1...]), bitWidth: Int(bytes[0]),
                                           maxValue: UInt32(dictionary.count - 1), count: count, into: &indices,
                                           what: what + " dictionary indices")
            switch dictionary {
            case .strings(let d):
                column.strings.reserveCapacity(column.strings.count + count)
                for i in indices { column.strings.append(d[Int(i)]) }
            case .integers(let d):
                column.integers.reserveCapacity(column.integers.count + count)
                for i in indices { column.integers.append(d[Int(i)]) }
            case .booleans(let d):
                for i in indices { column.booleans.append(d[Int(i)]) }
            }
        case ParquetEncoding.rle where leaf.type == .boolean:
            guard bytes.count >= 4 else { throw ParquetError.corrupt(what, "the boolean run length is missing") }
            let length = Int(bytes[0]) | Int(bytes[1]) << 8 | Int(bytes[2]) << 16 | Int(bytes[3]) << 24
            guard length <= bytes.count - 4 else { throw ParquetError.corrupt(what, "boolean runs of \(length) bytes run past the page") }
            var bits: [UInt8] = []
            try RLEBitPackedDecoder.decode(UnsafeBufferPointer(rebasing: bytes[4..<(4 + length)]), bitWidth: 1, maxValue: 1,
                                           count: count, into: &bits, what: what)
            column.booleans.append(contentsOf: bits.map { $0 == 1 })
        default:
            throw ParquetError.unsupported(what, "values in \(ParquetEncoding.name(encoding)) encoding (PLAIN and dictionary encodings are read)")
        }
    }

    /// `count` PLAIN-encoded values of the leaf's physical type.
    private func plainValues(_ bytes: UnsafeBufferPointer<UInt8>, count: Int, what: String) throws -> ParquetValues {
        func short(_ needed: Int) -> ParquetError {
            .corrupt(what, "the page has \(bytes.count) bytes of values, too few for \(count) values (\(needed) needed)")
        }
        switch leaf.type {
        case .byteArray:
            var out: [String] = []
            out.reserveCapacity(min(count, bytes.count / 4))
            var p = 0
            for _ in 0..<count {
                guard bytes.count - p >= 4 else { throw short(p + 4) }
                let length = Int(bytes[p]) | Int(bytes[p + 1]) << 8 | Int(bytes[p + 2]) << 16 | Int(bytes[p + 3]) << 24
                p += 4
                guard length <= bytes.count - p else {
                    throw ParquetError.corrupt(what, "a string of \(length) bytes runs past the page's \(bytes.count) bytes")
                }
                guard let text = String(validating: UnsafeBufferPointer(rebasing: bytes[p..<(p + length)]), as: UTF8.self) else {
                    throw ParquetError(location: what, problem: "value \(out.count) of the page is not valid UTF-8 text",
                                       fix: "store text columns as UTF-8 strings")
                }
                out.append(text)
                p += length
            }
            return .strings(out)
        case .int32:
            guard count <= bytes.count / 4 else { throw short(count * 4) }
            var out = [Int64](repeating: 0, count: count)
            for i in 0..<count {
                let p = 4 * i
                let u = UInt32(bytes[p]) | UInt32(bytes[p + 1]) << 8 | UInt32(bytes[p + 2]) << 16 | UInt32(bytes[p + 3]) << 24
                out[i] = Int64(Int32(bitPattern: u))
            }
            return .integers(out)
        case .int64:
            guard count <= bytes.count / 8 else { throw short(count * 8) }
            var out = [Int64](repeating: 0, count: count)
            out.withUnsafeMutableBytes { raw in
                raw.copyMemory(from: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes)[0..<(8 * count)]))
            }
            for i in 0..<count { out[i] = Int64(littleEndian: out[i]) }
            return .integers(out)
        case .boolean:
            guard count <= bytes.count * 8 else { throw short((count + 7) / 8) }
            return .booleans((0..<count).map { bytes[$0 / 8] & (1 << UInt8($0 % 8)) != 0 })
        default:
            throw ParquetError.unsupported(what, "the physical type \(leaf.type) (strings, INT32, INT64 and BOOLEAN are read)")
        }
    }
}
