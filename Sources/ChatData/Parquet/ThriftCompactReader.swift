/// Reads values of the Thrift compact protocol, the encoding of Parquet's footer and page headers.
///
/// Every read is bounds-checked against `end`, list sizes are checked against the bytes left before
/// anything is reserved, and structs nest at most ``maxDepth`` deep, so a hostile footer gives an error,
/// never a trap or an over-read. Format: https://github.com/apache/thrift/blob/master/doc/specs/thrift-compact-protocol.md
struct ThriftCompactReader {
    /// Compact-protocol type ids (the low nibble of a field header).
    enum FieldType: UInt8 {
        case boolTrue = 1, boolFalse = 2, byte = 3, i16 = 4, i32 = 5, i64 = 6, double = 7, binary = 8
        case list = 9, set = 10, map = 11, structure = 12
    }

    static let maxDepth = 32

    let bytes: [UInt8]
    private(set) var position: Int
    let end: Int
    /// What the bytes are, for messages ("file footer", "page header").
    let what: String
    private var depth = 0

    init(_ bytes: [UInt8], from start: Int, to end: Int, what: String) {
        self.bytes = bytes
        self.position = start
        self.end = end
        self.what = what
    }

    func error(_ problem: String) -> ParquetError {
        .corrupt(what, "bad Thrift data at byte \(position): \(problem)")
    }

    mutating func byte() throws -> UInt8 {
        guard position < end else { throw error("it ends early") }
        defer { position += 1 }
        return bytes[position]
    }

    /// Unsigned LEB128, at most 10 bytes.
    mutating func varint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = try byte()
            if shift == 63 && b > 1 { throw error("a varint overflows 64 bits") }
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
            if shift > 63 { throw error("a varint is longer than 10 bytes") }
        }
    }

    mutating func i64() throws -> Int64 {
        let u = try varint()
        return Int64(bitPattern: (u >> 1) ^ (0 &- (u & 1)))   // zigzag
    }

    mutating func i32() throws -> Int32 {
        let v = try i64()
        guard let n = Int32(exactly: v) else { throw error("\(v) does not fit a 32-bit field") }
        return n
    }

    /// A binary or string value: its byte range in `bytes`.
    mutating func binary() throws -> Range<Int> {
        let n = try varint()
        guard n <= UInt64(end - position) else { throw error("a string of \(n) bytes runs past the end") }
        let start = position
        position += Int(n)
        return start..<position
    }

    mutating func string() throws -> String {
        let range = try binary()
        return String(decoding: bytes[range], as: UTF8.self)
    }

    /// A list or set header: element count and element type. The count is checked against the bytes left
    /// (every element takes at least one byte), so a caller may reserve that many.
    mutating func listHeader() throws -> (count: Int, type: UInt8) {
        let header = try byte()
        var count = UInt64(header >> 4)
        if count == 15 { count = try varint() }
        guard count <= UInt64(end - position) else { throw error("a list of \(count) elements cannot fit in the bytes left") }
        return (Int(count), header & 0x0F)
    }

    /// Calls `field` for each field of a struct until its stop byte; `field` must consume the value
    /// (read it, or ``skip(_:)`` it).
    mutating func readStruct(_ field: (inout ThriftCompactReader, Int16, UInt8) throws -> Void) throws {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maxDepth else { throw error("structs nest deeper than \(Self.maxDepth)") }
        var lastID: Int16 = 0
        while true {
            let header = try byte()
            if header == 0 { return }
            let type = header & 0x0F
            let delta = header >> 4
            let id: Int16
            if delta != 0 {
                let (sum, overflow) = lastID.addingReportingOverflow(Int16(delta))
                guard !overflow else { throw error("a field id overflows") }
                id = sum
            } else {
                let v = try i64()
                guard let n = Int16(exactly: v) else { throw error("field id \(v) is out of range") }
                id = n
            }
            lastID = id
            try field(&self, id, type)
        }
    }

    /// Reads a bool field's value, which the compact protocol keeps in the field header's type.
    func bool(fieldType: UInt8) throws -> Bool {
        switch fieldType {
        case FieldType.boolTrue.rawValue: return true
        case FieldType.boolFalse.rawValue: return false
        default: throw error("expected a bool field, found type \(fieldType)")
        }
    }

    /// Throws unless a field has the expected type (a field of another type means a damaged or foreign footer).
    func expect(_ type: UInt8, _ expected: FieldType, _ name: String) throws {
        guard type == expected.rawValue else { throw error("field \"\(name)\" has type \(type), expected \(expected)") }
    }

    /// Skips one value of `type` (fields this reader does not use).
    mutating func skip(_ type: UInt8) throws {
        guard let kind = FieldType(rawValue: type) else { throw error("unknown type id \(type)") }
        switch kind {
        case .boolTrue, .boolFalse: return
        case .byte: _ = try byte()
        case .i16, .i32, .i64: _ = try varint()
        case .double:
            guard end - position >= 8 else { throw error("it ends inside a double") }
            position += 8
        case .binary: _ = try binary()
        case .list, .set:
            let (count, elementType) = try listHeader()
            try nested {
                for _ in 0..<count {
                    if elementType == FieldType.boolTrue.rawValue || elementType == FieldType.boolFalse.rawValue {
                        _ = try $0.byte()   // list bools take one byte each
                    } else {
                        try $0.skip(elementType)
                    }
                }
            }
        case .map:
            let count = try varint()
            guard count <= UInt64(end - position) else { throw error("a map of \(count) entries cannot fit in the bytes left") }
            if count == 0 { return }
            let types = try byte()
            try nested {
                for _ in 0..<count {
                    try $0.skip(types >> 4)
                    try $0.skip(types & 0x0F)
                }
            }
        case .structure:
            try readStruct { r, _, type in try r.skip(type) }
        }
    }

    private mutating func nested(_ body: (inout ThriftCompactReader) throws -> Void) throws {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maxDepth else { throw error("values nest deeper than \(Self.maxDepth)") }
        try body(&self)
    }
}
