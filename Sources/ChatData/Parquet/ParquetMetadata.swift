/// The parts of Parquet's Thrift metadata this reader uses (field ids from parquet.thrift,
/// https://github.com/apache/parquet-format/blob/master/src/main/thrift/parquet.thrift). Other fields are skipped.

/// Physical types (`Type` in parquet.thrift).
enum ParquetPhysicalType: Int32 {
    case boolean = 0, int32 = 1, int64 = 2, int96 = 3, float = 4, double = 5, byteArray = 6, fixedLenByteArray = 7
}

enum ParquetRepetition: Int32 {
    case required = 0, optional = 1, repeated = 2
}

/// Compression codecs (`CompressionCodec`).
enum ParquetCodec: Int32 {
    case uncompressed = 0, snappy = 1, gzip = 2, lzo = 3, brotli = 4, lz4 = 5, zstd = 6, lz4Raw = 7

    var name: String {
        switch self {
        case .uncompressed: return "UNCOMPRESSED"
        case .snappy: return "SNAPPY"
        case .gzip: return "GZIP"
        case .lzo: return "LZO"
        case .brotli: return "BROTLI"
        case .lz4: return "LZ4"
        case .zstd: return "ZSTD"
        case .lz4Raw: return "LZ4_RAW"
        }
    }
}

/// Value encodings (`Encoding`).
enum ParquetEncoding {
    static let plain: Int32 = 0
    static let plainDictionary: Int32 = 2
    static let rle: Int32 = 3
    static let rleDictionary: Int32 = 8

    static func name(_ e: Int32) -> String {
        let names: [Int32: String] = [0: "PLAIN", 2: "PLAIN_DICTIONARY", 3: "RLE", 4: "BIT_PACKED", 5: "DELTA_BINARY_PACKED",
                                      6: "DELTA_LENGTH_BYTE_ARRAY", 7: "DELTA_BYTE_ARRAY", 8: "RLE_DICTIONARY",
                                      9: "BYTE_STREAM_SPLIT"]
        return names[e] ?? "encoding \(e)"
    }
}

struct ParquetSchemaElement {
    var name = ""
    var type: ParquetPhysicalType?
    var repetition = ParquetRepetition.required
    var numChildren = 0
    /// `ConvertedType` (0 UTF8, 3 LIST, 16 ENUM, 19 JSON …).
    var convertedType: Int32?
    /// Set when the `LogicalType` union holds STRING (1), ENUM (4) or JSON (12).
    var logicalIsText = false
    /// Set when the `LogicalType` union holds LIST (3).
    var logicalIsList = false

    /// A UTF-8 string column (annotated as such).
    var isText: Bool { logicalIsText || convertedType == 0 || convertedType == 16 || convertedType == 19 }
    var isList: Bool { logicalIsList || convertedType == 3 }
}

struct ParquetColumnMetadata {
    var type = ParquetPhysicalType.boolean
    var path: [String] = []
    var codec = ParquetCodec.uncompressed
    var numValues: Int64 = 0
    var totalCompressedSize: Int64 = 0
    var dataPageOffset: Int64 = 0
    var dictionaryPageOffset: Int64?
}

struct ParquetRowGroup {
    var columns: [ParquetColumnMetadata] = []
    var numRows: Int64 = 0
}

struct ParquetFileMetadata {
    var schema: [ParquetSchemaElement] = []
    var numRows: Int64 = 0
    var rowGroups: [ParquetRowGroup] = []
}

/// Page types (`PageType`).
enum ParquetPageType: Int32 {
    case dataPage = 0, indexPage = 1, dictionaryPage = 2, dataPageV2 = 3
}

struct ParquetPageHeader {
    var type: Int32 = -1
    var uncompressedSize: Int32 = -1
    var compressedSize: Int32 = -1
    var numValues: Int32 = 0
    var encoding: Int32 = 0
    var definitionLevelEncoding: Int32 = ParquetEncoding.rle
    var repetitionLevelEncoding: Int32 = ParquetEncoding.rle
    // Data page v2 only: levels are stored uncompressed before the values.
    var definitionLevelsLength: Int32 = 0
    var repetitionLevelsLength: Int32 = 0
    var isCompressed = true
    /// Set when the header holds a data, data v2 or dictionary page struct (where num_values lives).
    var sawDataHeader = false
}

extension ParquetFileMetadata {
    /// Decodes `FileMetaData` from `bytes[start..<end]`.
    static func decode(_ bytes: [UInt8], from start: Int, to end: Int) throws -> ParquetFileMetadata {
        var r = ThriftCompactReader(bytes, from: start, to: end, what: "file footer")
        var meta = ParquetFileMetadata()
        try r.readStruct { r, id, type in
            switch id {
            case 2:
                try r.expect(type, .list, "schema")
                let (count, elementType) = try r.listHeader()
                try r.expect(elementType, .structure, "schema element")
                meta.schema.reserveCapacity(count)
                for _ in 0..<count { meta.schema.append(try decodeSchemaElement(&r)) }
            case 3:
                try r.expect(type, .i64, "num_rows")
                meta.numRows = try r.i64()
            case 4:
                try r.expect(type, .list, "row_groups")
                let (count, elementType) = try r.listHeader()
                try r.expect(elementType, .structure, "row group")
                meta.rowGroups.reserveCapacity(count)
                for _ in 0..<count { meta.rowGroups.append(try decodeRowGroup(&r)) }
            default:
                try r.skip(type)
            }
        }
        return meta
    }

    private static func decodeSchemaElement(_ r: inout ThriftCompactReader) throws -> ParquetSchemaElement {
        var e = ParquetSchemaElement()
        try r.readStruct { r, id, type in
            switch id {
            case 1:
                try r.expect(type, .i32, "type")
                let raw = try r.i32()
                guard let t = ParquetPhysicalType(rawValue: raw) else { throw r.error("unknown physical type \(raw)") }
                e.type = t
            case 3:
                try r.expect(type, .i32, "repetition_type")
                let raw = try r.i32()
                guard let rep = ParquetRepetition(rawValue: raw) else { throw r.error("unknown repetition \(raw)") }
                e.repetition = rep
            case 4:
                try r.expect(type, .binary, "name")
                e.name = try r.string()
            case 5:
                try r.expect(type, .i32, "num_children")
                e.numChildren = Int(try r.i32())
            case 6:
                try r.expect(type, .i32, "converted_type")
                e.convertedType = try r.i32()
            case 10:
                try r.expect(type, .structure, "logicalType")
                // A union: the id of its one field names the logical type.
                try r.readStruct { r, member, memberType in
                    if member == 1 || member == 4 || member == 12 { e.logicalIsText = true }
                    if member == 3 { e.logicalIsList = true }
                    try r.skip(memberType)
                }
            default:
                try r.skip(type)
            }
        }
        return e
    }

    private static func decodeRowGroup(_ r: inout ThriftCompactReader) throws -> ParquetRowGroup {
        var group = ParquetRowGroup()
        try r.readStruct { r, id, type in
            switch id {
            case 1:
                try r.expect(type, .list, "columns")
                let (count, elementType) = try r.listHeader()
                try r.expect(elementType, .structure, "column chunk")
                group.columns.reserveCapacity(count)
                for _ in 0..<count { group.columns.append(try decodeColumnChunk(&r)) }
            case 3:
                try r.expect(type, .i64, "num_rows")
                group.numRows = try r.i64()
            default:
                try r.skip(type)
            }
        }
        return group
    }

    private static func decodeColumnChunk(_ r: inout ThriftCompactReader) throws -> ParquetColumnMetadata {
        var column: ParquetColumnMetadata?
        var externalFile: String?
        try r.readStruct { r, id, type in
            switch id {
            case 1:
                try r.expect(type, .binary, "file_path")
                externalFile = try r.string()
            case 3:
                try r.expect(type, .structure, "meta_data")
                column = try decodeColumnMetadata(&r)
            default:
                try r.skip(type)
            }
        }
        if let externalFile, !externalFile.isEmpty {
            throw ParquetError.unsupported("file footer", "a column chunk lives in another file (\(externalFile))")
        }
        guard let column else { throw r.error("a column chunk has no meta_data") }
        return column
    }

    private static func decodeColumnMetadata(_ r: inout ThriftCompactReader) throws -> ParquetColumnMetadata {
        var c = ParquetColumnMetadata()
        try r.readStruct { r, id, type in
            switch id {
            case 1:
                try r.expect(type, .i32, "type")
                let raw = try r.i32()
                guard let t = ParquetPhysicalType(rawValue: raw) else { throw r.error("unknown physical type \(raw)") }
                c.type = t
            case 3:
                try r.expect(type, .list, "path_in_schema")
                let (count, elementType) = try r.listHeader()
                try r.expect(elementType, .binary, "path_in_schema element")
                for _ in 0..<count { c.path.append(try r.string()) }
            case 4:
                try r.expect(type, .i32, "codec")
                let raw = try r.i32()
                guard let codec = ParquetCodec(rawValue: raw) else { throw r.error("unknown compression codec \(raw)") }
                c.codec = codec
            case 5:
                try r.expect(type, .i64, "num_values")
                c.numValues = try r.i64()
            case 7:
                try r.expect(type, .i64, "total_compressed_size")
                c.totalCompressedSize = try r.i64()
            case 9:
                try r.expect(type, .i64, "data_page_offset")
                c.dataPageOffset = try r.i64()
            case 11:
                try r.expect(type, .i64, "dictionary_page_offset")
                c.dictionaryPageOffset = try r.i64()
            default:
                try r.skip(type)
            }
        }
        return c
    }
}

extension ParquetPageHeader {
    /// Decodes a `PageHeader` starting at `r`'s position.
    static func decode(_ r: inout ThriftCompactReader) throws -> ParquetPageHeader {
        var h = ParquetPageHeader()
        try r.readStruct { r, id, type in
            switch id {
            case 1:
                try r.expect(type, .i32, "type")
                h.type = try r.i32()
            case 2:
                try r.expect(type, .i32, "uncompressed_page_size")
                h.uncompressedSize = try r.i32()
            case 3:
                try r.expect(type, .i32, "compressed_page_size")
                h.compressedSize = try r.i32()
            case 5, 7:   // DataPageHeader, DictionaryPageHeader: num_values and encoding lead both
                try r.expect(type, .structure, id == 5 ? "data_page_header" : "dictionary_page_header")
                h.sawDataHeader = true
                try r.readStruct { r, field, fieldType in
                    switch field {
                    case 1: try r.expect(fieldType, .i32, "num_values"); h.numValues = try r.i32()
                    case 2: try r.expect(fieldType, .i32, "encoding"); h.encoding = try r.i32()
                    case 3 where id == 5: try r.expect(fieldType, .i32, "definition_level_encoding"); h.definitionLevelEncoding = try r.i32()
                    case 4 where id == 5: try r.expect(fieldType, .i32, "repetition_level_encoding"); h.repetitionLevelEncoding = try r.i32()
                    default: try r.skip(fieldType)
                    }
                }
            case 8:
                try r.expect(type, .structure, "data_page_header_v2")
                h.sawDataHeader = true
                try r.readStruct { r, field, fieldType in
                    switch field {
                    case 1: try r.expect(fieldType, .i32, "num_values"); h.numValues = try r.i32()
                    case 4: try r.expect(fieldType, .i32, "encoding"); h.encoding = try r.i32()
                    case 5: try r.expect(fieldType, .i32, "definition_levels_byte_length"); h.definitionLevelsLength = try r.i32()
                    case 6: try r.expect(fieldType, .i32, "repetition_levels_byte_length"); h.repetitionLevelsLength = try r.i32()
                    case 7: h.isCompressed = try r.bool(fieldType: fieldType)
                    default: try r.skip(fieldType)
                    }
                }
            default:
                try r.skip(type)
            }
        }
        return h
    }
}
