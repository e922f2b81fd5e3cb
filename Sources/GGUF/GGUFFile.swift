import SafeTensors

/// A GGUF file (versions 2 and 3), memory-mapped and validated before any tensor is used.
///
/// Layout (little-endian): magic `GGUF`, u32 version, u64 tensor count, u64 metadata count, the
/// metadata key/values, the tensor entries (name, u32 dim count, u64 dims fastest-first, u32 ggml type,
/// u64 offset), padding to `general.alignment` (default 32), then the data section. Validation, in the
/// spirit of the safetensors reader: counts and string lengths bounded by the bytes left in the file,
/// every value type known, the alignment a power of two, each tensor's byte size computed from its
/// type's block size with overflow checks, offsets aligned, in range and non-overlapping. Tensor data
/// stays in the mapping: nothing is read until a tensor is used.
///
/// Limitations: little-endian files only; at most 4 dims per tensor (ggml's limit).
public final class GGUFFile: @unchecked Sendable {
    public static let defaultAlignment = 32
    /// ggml's `GGML_MAX_DIMS`.
    public static let maxDimensions = 4
    /// Arrays nest at most this deep (llama.cpp itself never nests them).
    static let maxArrayDepth = 4

    public var path: String { file.path }
    public let version: UInt32
    /// Metadata in file order (a writer carrying them over keeps that order).
    public let metadata: [(key: String, value: GGUFValue)]
    /// Tensor entries in file order.
    public let tensors: [GGUFTensorInfo]
    public let alignment: Int
    /// Byte offset of the data section in the file.
    public let dataOffset: Int

    private let file: MappedFile
    private let metadataIndex: [String: Int]
    private let tensorIndex: [String: Int]

    /// Maps and validates `path`. Throws `GGUFError` (or `SafeTensorsError.cannotOpen` when the file
    /// cannot be opened) naming what is wrong.
    public init(path: String) throws {
        file = try MappedFile(path: path)
        var cursor = ByteCursor(bytes: file.bytes, path: path)
        guard file.bytes.count >= 4 else { throw GGUFError.notGGUF(path: path, found: Array(file.bytes)) }
        let magic = Array(file.bytes[0..<4])
        guard magic == Array("GGUF".utf8) else { throw GGUFError.notGGUF(path: path, found: magic) }
        cursor.skip(to: 4)
        let version = try cursor.read(UInt32.self, "the version")
        if version != 2, version != 3 {
            // A big-endian file stores 3 as 0x03000000.
            if version.byteSwapped == 2 || version.byteSwapped == 3 { throw GGUFError.bigEndian(path: path) }
            throw GGUFError.unsupportedVersion(path: path, version: version)
        }
        self.version = version
        // Smallest possible entries: a tensor is name length (8) + n_dims (4) + one dim (8) + type (4) + offset (8);
        // a key/value is key length (8) + type (4) + the smallest value (1).
        let tensorCount = try cursor.count("the tensor count", minimumBytesEach: 32)
        let metadataCount = try cursor.count("the metadata count", minimumBytesEach: 13)

        var metadata: [(key: String, value: GGUFValue)] = []
        var metadataIndex: [String: Int] = [:]
        metadata.reserveCapacity(metadataCount)
        for i in 0..<metadataCount {
            let key = try cursor.string("metadata key #\(i)")
            guard metadataIndex[key] == nil else { throw GGUFError.duplicateKey(path: path, key: key) }
            let rawType = try cursor.read(UInt32.self, "the type of metadata \"\(key)\"")
            guard let type = GGUFValueType(rawValue: rawType) else {
                throw GGUFError.unknownValueType(path: path, key: key, type: rawType)
            }
            let value = try Self.readValue(type, key: key, depth: 0, &cursor)
            metadataIndex[key] = metadata.count
            metadata.append((key, value))
        }

        var alignment = Self.defaultAlignment
        if let i = metadataIndex["general.alignment"] {
            // ggml requires UINT32 here; a power of two so offsets can be checked and padded.
            guard case .uint32(let a) = metadata[i].value, a > 0, a & (a - 1) == 0 else {
                throw GGUFError.badMetadata(path: path, key: "general.alignment",
                                            reason: "must be a UINT32 power of two, found \(metadata[i].value.summary)")
            }
            alignment = Int(a)
        }

        var tensors: [GGUFTensorInfo] = []
        var tensorIndex: [String: Int] = [:]
        tensors.reserveCapacity(tensorCount)
        for i in 0..<tensorCount {
            let name = try cursor.string("the name of tensor #\(i)")
            guard tensorIndex[name] == nil else { throw GGUFError.duplicateTensor(path: path, tensor: name) }
            let dimCount = try cursor.read(UInt32.self, "the dim count of tensor \"\(name)\"")
            guard dimCount >= 1, dimCount <= UInt32(Self.maxDimensions) else {
                throw GGUFError.invalidTensor(path: path, tensor: name, reason: "has \(dimCount) dims; 1 to \(Self.maxDimensions) are allowed")
            }
            var dims: [Int] = []
            var elements = 1
            for _ in 0..<Int(dimCount) {
                let d = try cursor.read(UInt64.self, "the dims of tensor \"\(name)\"")
                guard d <= UInt64(Int.max) else {
                    throw GGUFError.invalidTensor(path: path, tensor: name, reason: "dim \(d) is too large")
                }
                let (product, overflow) = elements.multipliedReportingOverflow(by: Int(d))
                guard !overflow else {
                    throw GGUFError.invalidTensor(path: path, tensor: name, reason: "its element count overflows")
                }
                elements = product
                dims.append(Int(d))
            }
            let rawType = try cursor.read(UInt32.self, "the type of tensor \"\(name)\"")
            guard let type = GGMLType(rawValue: rawType) else { throw GGUFError.unknownTensorType(path: path, tensor: name, type: rawType) }
            let offset = try cursor.read(UInt64.self, "the offset of tensor \"\(name)\"")
            guard let rowBytes = type.rowBytes(columns: dims[0]) else {
                throw GGUFError.invalidTensor(path: path, tensor: name,
                                              reason: "its row width \(dims[0]) is not a multiple of the \(type.name) block size \(type.blockSize)")
            }
            let rows = dims.dropFirst().reduce(1, *)  // cannot overflow: bounded by `elements`
            let (byteCount, overflow) = rowBytes.multipliedReportingOverflow(by: rows)
            guard !overflow else { throw GGUFError.invalidTensor(path: path, tensor: name, reason: "its byte size overflows") }
            guard offset % UInt64(alignment) == 0 else {
                throw GGUFError.invalidTensor(path: path, tensor: name, reason: "offset \(offset) is not a multiple of the alignment \(alignment)")
            }
            guard offset <= UInt64(Int.max) else { throw GGUFError.invalidTensor(path: path, tensor: name, reason: "offset \(offset) is too large") }
            tensorIndex[name] = tensors.count
            tensors.append(GGUFTensorInfo(name: name, dimensions: dims, type: type, offset: Int(offset), byteCount: byteCount))
        }

        // The data section starts at the next multiple of the alignment after the header.
        let headerEnd = cursor.offset
        let dataOffset = (headerEnd + alignment - 1) / alignment * alignment
        let dataBytes = file.bytes.count - dataOffset
        for t in tensors {
            let (end, overflow) = t.offset.addingReportingOverflow(t.byteCount)
            guard !overflow, end <= dataBytes else {
                throw GGUFError.invalidTensor(path: path, tensor: t.name,
                    reason: "its data (\(t.byteCount) bytes at offset \(t.offset) of the data section) runs past the end of the file. The file is truncated: download it again.")
            }
        }
        let byOffset = tensors.sorted { ($0.offset, $0.byteCount) < ($1.offset, $1.byteCount) }
        for (a, b) in zip(byOffset, byOffset.dropFirst()) where a.byteCount > 0 && b.byteCount > 0 && a.offset + a.byteCount > b.offset {
            throw GGUFError.overlappingTensors(path: path, first: a.name, second: b.name)
        }

        self.metadata = metadata
        self.metadataIndex = metadataIndex
        self.tensors = tensors
        self.tensorIndex = tensorIndex
        self.alignment = alignment
        self.dataOffset = dataOffset
    }

    /// One value of type `type`; arrays recurse (bounded depth).
    private static func readValue(_ type: GGUFValueType, key: String, depth: Int, _ c: inout ByteCursor) throws -> GGUFValue {
        let what = "the value of metadata \"\(key)\""
        switch type {
        case .uint8: return .uint8(try c.read(UInt8.self, what))
        case .int8: return .int8(try c.read(Int8.self, what))
        case .uint16: return .uint16(try c.read(UInt16.self, what))
        case .int16: return .int16(try c.read(Int16.self, what))
        case .uint32: return .uint32(try c.read(UInt32.self, what))
        case .int32: return .int32(try c.read(Int32.self, what))
        case .float32: return .float32(Float(bitPattern: try c.read(UInt32.self, what)))
        case .uint64: return .uint64(try c.read(UInt64.self, what))
        case .int64: return .int64(try c.read(Int64.self, what))
        case .float64: return .float64(Double(bitPattern: try c.read(UInt64.self, what)))
        case .bool:
            let b = try c.read(UInt8.self, what)
            guard b <= 1 else { throw GGUFError.badMetadata(path: c.path, key: key, reason: "a BOOL must be 0 or 1, found \(b). The file is corrupt.") }
            return .bool(b == 1)
        case .string: return .string(try c.string(what))
        case .array:
            guard depth < maxArrayDepth else {
                throw GGUFError.badMetadata(path: c.path, key: key, reason: "arrays nest deeper than \(maxArrayDepth) levels. The file is corrupt.")
            }
            let rawElement = try c.read(UInt32.self, "the element type of metadata \"\(key)\"")
            guard let element = GGUFValueType(rawValue: rawElement) else {
                throw GGUFError.unknownValueType(path: c.path, key: key, type: rawElement)
            }
            // Strings need at least their 8-byte length; nested arrays their type and count (12 bytes).
            let minimum = element.fixedSize ?? (element == .string ? 8 : 12)
            let n = try c.count("the length of array \"\(key)\"", minimumBytesEach: minimum)
            var values: [GGUFValue] = []
            values.reserveCapacity(n)
            for _ in 0..<n { values.append(try readValue(element, key: key, depth: depth + 1, &c)) }
            return .array(elementType: element, values)
        }
    }

    // MARK: Lookup

    public subscript(key: String) -> GGUFValue? {
        metadataIndex[key].map { metadata[$0].value }
    }

    public func tensor(named name: String) -> GGUFTensorInfo? {
        tensorIndex[name].map { tensors[$0] }
    }

    /// The header: everything before the data section (metadata and tensor entries).
    public var headerBytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: file.bytes[0..<min(dataOffset, file.bytes.count)])
    }

    /// The raw bytes of a tensor inside the mapping (valid while this file lives).
    public func bytes(of tensor: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: file.bytes[(dataOffset + tensor.offset)..<(dataOffset + tensor.offset + tensor.byteCount)])
    }

    /// The whole tensor as fp32, `elementCount` floats into `dst` (row-major, `ne[0]` fastest).
    /// Throws `unsupportedTensorType` for types without a dequantizer.
    public func dequantize(_ tensor: GGUFTensorInfo, into dst: UnsafeMutablePointer<Float>) throws {
        guard tensor.type.isDequantizable else { throw GGUFError.unsupportedTensorType(path: path, tensor: tensor.name, type: tensor.type) }
        guard let base = bytes(of: tensor).baseAddress else { return }  // no elements
        GGMLDequantizer.dequantize(tensor.type, from: base, to: dst, count: tensor.elementCount)
    }
}
