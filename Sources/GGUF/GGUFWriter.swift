import Foundation
import SafeTensors

/// One tensor of a GGUF file being written. Its bytes are produced on demand, one tensor at a time, so a
/// writer holds at most one tensor in memory whatever the model size.
public struct GGUFTensorToWrite {
    public let name: String
    public let type: GGMLType
    /// Dimensions fastest-first, as GGUF lists them: `dimensions[0]` is the row width (`ne[0]`), so a
    /// Hugging Face `[out, in]` matrix is `[in, out]` here.
    public let dimensions: [Int]
    /// Fills the buffer — exactly the tensor's byte count, zero-initialised — with the tensor's data in
    /// ggml's layout for `type` (little-endian, rows of `dimensions[0]` elements, blocks along the row).
    public let write: (UnsafeMutableRawBufferPointer) throws -> Void

    public init(name: String, type: GGMLType, dimensions: [Int], write: @escaping (UnsafeMutableRawBufferPointer) throws -> Void) {
        self.name = name
        self.type = type
        self.dimensions = dimensions
        self.write = write
    }

    /// Bytes of the tensor's data, or nil when the row width is not a whole number of blocks or the size
    /// overflows.
    public var byteCount: Int? {
        guard let first = dimensions.first, dimensions.allSatisfy({ $0 >= 0 }),
              var bytes = type.rowBytes(columns: first) else { return nil }
        for d in dimensions.dropFirst() {
            let (product, overflow) = bytes.multipliedReportingOverflow(by: d)
            if overflow { return nil }
            bytes = product
        }
        return bytes
    }
}

/// Why a GGUF file could not be written. Each case names the output file and what was wrong.
public enum GGUFWriteError: LocalizedError, Equatable, Sendable {
    case duplicateKey(path: String, key: String)
    case duplicateTensor(path: String, tensor: String)
    case badTensor(path: String, tensor: String, reason: String)
    case badValue(path: String, key: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case let .duplicateKey(path, key):
            return "\(path): metadata key \"\(key)\" is given twice; a GGUF file holds each key once."
        case let .duplicateTensor(path, tensor):
            return "\(path): tensor \"\(tensor)\" is given twice; a GGUF file holds each tensor name once."
        case let .badTensor(path, tensor, reason):
            return "\(path): tensor \"\(tensor)\": \(reason)."
        case let .badValue(path, key, reason):
            return "\(path): metadata \"\(key)\": \(reason)."
        }
    }
}

/// Writes GGUF version 3 files the way ggml and the `gguf` Python package lay them out
/// (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md):
///
/// ```
/// "GGUF"  u32 version = 3  u64 tensor count  u64 metadata count
/// metadata:     u64 key length, key bytes, u32 value type, value
/// tensor infos: u64 name length, name bytes, u32 n_dims, u64 × n_dims (fastest first), u32 ggml type,
///               u64 offset of the data from the start of the data section
/// zero padding to the alignment, then each tensor's data followed by zero padding to the alignment
/// ```
///
/// Strings are UTF-8 without a terminator; arrays are u32 element type, u64 count, the elements without
/// their own type tags. All numbers are little-endian. The alignment is `general.alignment` when the
/// metadata sets it (a power of two, stored as UINT32), else 32. Metadata and tensors keep the given order.
///
/// The file is written atomically (temporary name in the same folder, fsync, rename).
public enum GGUFWriter {
    public static let defaultAlignment = 32
    public static let version: UInt32 = 3

    public static func write(metadata: [(key: String, value: GGUFValue)], tensors: [GGUFTensorToWrite], to path: String) throws {
        let alignment = try Self.alignment(metadata, path: path)
        var sizes: [Int] = []
        var names = Set<String>()
        for t in tensors {
            guard names.insert(t.name).inserted else { throw GGUFWriteError.duplicateTensor(path: path, tensor: t.name) }
            guard !t.dimensions.isEmpty, t.dimensions.count <= 4 else {
                throw GGUFWriteError.badTensor(path: path, tensor: t.name, reason: "ggml tensors have 1 to 4 dimensions, got \(t.dimensions.count)")
            }
            guard let size = t.byteCount else {
                throw GGUFWriteError.badTensor(path: path, tensor: t.name, reason: "dimensions \(t.dimensions) do not fit \(t.type.name) "
                    + "(the row width must be a multiple of \(t.type.blockSize))")
            }
            sizes.append(size)
        }
        let header = try encodeHeader(metadata: metadata, tensors: tensors, sizes: sizes, alignment: alignment, path: path)

        try AtomicFile.write(to: path) { sink in
            try sink.write(header)
            let padding = [UInt8](repeating: 0, count: alignment)
            for (t, size) in zip(tensors, sizes) {
                let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(size, 1), alignment: 64)
                defer { buffer.deallocate() }
                let view = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<size])
                view.initializeMemory(as: UInt8.self, repeating: 0)
                try t.write(view)
                try sink.write(UnsafeRawBufferPointer(view))
                try sink.write(Array(padding[0..<(padded(size, alignment) - size)]))
            }
        }
    }

    /// Everything before the first tensor's data: header, metadata, tensor infos and the padding after them.
    static func encodeHeader(metadata: [(key: String, value: GGUFValue)], tensors: [GGUFTensorToWrite], sizes: [Int],
                             alignment: Int, path: String) throws -> [UInt8] {
        var out = ByteSink()
        out.bytes += Array("GGUF".utf8)
        out.append(version)
        out.append(UInt64(tensors.count))
        out.append(UInt64(metadata.count))
        var keys = Set<String>()
        for (key, value) in metadata {
            guard keys.insert(key).inserted else { throw GGUFWriteError.duplicateKey(path: path, key: key) }
            out.appendString(key)
            out.append(value.type.rawValue)
            try out.appendPayload(value, key: key, path: path)
        }
        var offset = 0
        for (t, size) in zip(tensors, sizes) {
            out.appendString(t.name)
            out.append(UInt32(t.dimensions.count))
            for d in t.dimensions { out.append(UInt64(d)) }
            out.append(t.type.rawValue)
            out.append(UInt64(offset))
            offset += padded(size, alignment)
        }
        out.bytes += [UInt8](repeating: 0, count: padded(out.bytes.count, alignment) - out.bytes.count)
        return out.bytes
    }

    /// `general.alignment` if present (validated), else the default.
    private static func alignment(_ metadata: [(key: String, value: GGUFValue)], path: String) throws -> Int {
        guard let entry = metadata.first(where: { $0.key == "general.alignment" }) else { return defaultAlignment }
        guard case .uint32(let a) = entry.value, a > 0, a & (a - 1) == 0 else {
            throw GGUFWriteError.badValue(path: path, key: "general.alignment", reason: "must be a UINT32 power of two, got \(entry.value.summary)")
        }
        return Int(a)
    }

    static func padded(_ n: Int, _ alignment: Int) -> Int { (n + alignment - 1) / alignment * alignment }
}

/// Little-endian encoder for the header.
private struct ByteSink {
    var bytes: [UInt8] = []

    mutating func append<T: FixedWidthInteger>(_ v: T) {
        withUnsafeBytes(of: v.littleEndian) { bytes += $0 }
    }

    mutating func appendString(_ s: String) {
        append(UInt64(s.utf8.count))
        bytes += Array(s.utf8)
    }

    /// The value without its type tag (the form array elements take).
    mutating func appendPayload(_ value: GGUFValue, key: String, path: String) throws {
        switch value {
        case .uint8(let v): append(v)
        case .int8(let v): append(v)
        case .uint16(let v): append(v)
        case .int16(let v): append(v)
        case .uint32(let v): append(v)
        case .int32(let v): append(v)
        case .float32(let v): append(v.bitPattern)
        case .bool(let v): append(UInt8(v ? 1 : 0))
        case .string(let s): appendString(s)
        case .uint64(let v): append(v)
        case .int64(let v): append(v)
        case .float64(let v): append(v.bitPattern)
        case let .array(elementType, elements):
            append(elementType.rawValue)
            append(UInt64(elements.count))
            for e in elements {
                guard e.type == elementType else {
                    throw GGUFWriteError.badValue(path: path, key: key, reason: "an ARRAY of \(elementType) holds a \(e.type) element")
                }
                try appendPayload(e, key: key, path: path)
            }
        }
    }
}
