/// Bounds-checked little-endian reads over the mapped header of a GGUF file.
///
/// Every read checks that the bytes exist before touching them, so a hostile length can only produce
/// a `GGUFError.truncated`, never a read past the mapping.
struct ByteCursor {
    let bytes: UnsafeRawBufferPointer
    let path: String
    private(set) var offset: Int = 0

    init(bytes: UnsafeRawBufferPointer, path: String) {
        self.bytes = bytes
        self.path = path
    }

    var remaining: Int { bytes.count - offset }

    mutating func require(_ count: Int, _ what: @autoclosure () -> String) throws {
        guard count >= 0, count <= remaining else { throw GGUFError.truncated(path: path, what: what(), offset: offset) }
    }

    mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws -> T {
        try require(MemoryLayout<T>.size, what())
        let v = T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
        offset += MemoryLayout<T>.size
        return v
    }

    /// A count stored as u64 that must fit in the rest of the file at `minimumBytesEach` per item.
    mutating func count(_ what: String, minimumBytesEach: Int) throws -> Int {
        let raw = try read(UInt64.self, what)
        let limit = remaining / max(1, minimumBytesEach)
        guard raw <= UInt64(limit) else { throw GGUFError.countTooLarge(path: path, what: what, count: raw, limit: limit) }
        return Int(raw)
    }

    /// A GGUF string: u64 byte length, then UTF-8 bytes (no terminator).
    mutating func string(_ what: @autoclosure () -> String) throws -> String {
        let start = offset
        let length = try read(UInt64.self, what())
        guard length <= UInt64(remaining) else { throw GGUFError.truncated(path: path, what: what(), offset: start) }
        let n = Int(length)
        let slice = UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + n])
        guard let text = String(validating: slice.assumingMemoryBound(to: UInt8.self), as: UTF8.self) else {
            throw GGUFError.invalidString(path: path, what: what(), offset: start)
        }
        offset += n
        return text
    }

    mutating func skip(to newOffset: Int) { offset = newOffset }
}
