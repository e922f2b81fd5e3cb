/// A safetensors file, memory-mapped and fully validated on open (REFERENCE §7).
///
/// Opening maps the file and parses only the header; tensor data is read from the page cache when a
/// tensor is first accessed, so unused tensors cost nothing. The object is immutable after `init` and
/// safe to share between threads. Views returned by ``rawBytes(_:)`` are valid while the object lives.
public final class SafeTensorsFile: @unchecked Sendable {
    /// The path the file was opened from (used in every error message).
    public let path: String
    /// The header's `__metadata__` map (empty if absent).
    public let metadata: [String: String]

    private let mapped: MappedFile
    private let tensors: [TensorInfo]
    private let indexByName: [String: Int]
    private let data: UnsafeRawBufferPointer

    /// Maps `path` and validates it; throws ``SafeTensorsError`` naming the file and the problem.
    public init(path: String) throws {
        self.path = path
        mapped = try MappedFile(path: path)
        let header = try parseSafeTensorsHeader(file: mapped.bytes, path: path)
        metadata = header.metadata
        tensors = header.tensors
        var index: [String: Int] = [:]
        index.reserveCapacity(tensors.count)
        for (i, t) in tensors.enumerated() {
            // Keys were unique byte-wise; Swift `String` equality is Unicode-canonical, so two
            // canonically-equivalent names would collide here. Refuse rather than hide one.
            if index.updateValue(i, forKey: t.name) != nil {
                throw SafeTensorsError.duplicateKey(path: path, key: t.name)
            }
        }
        indexByName = index
        data = UnsafeRawBufferPointer(rebasing: mapped.bytes[header.dataStart...])
    }

    /// Tensor names in data-buffer (offset) order.
    public var names: [String] {
        tensors.map(\.name)
    }

    /// All tensor entries in data-buffer (offset) order.
    public var infos: [TensorInfo] {
        tensors
    }

    /// The entry for `name`, or `nil` if the file has no such tensor.
    public func info(_ name: String) -> TensorInfo? {
        indexByName[name].map { tensors[$0] }
    }

    /// The tensor's bytes as stored (little-endian, row-major): a zero-copy view into the mapping,
    /// valid as long as this object is alive.
    public func rawBytes(_ name: String) throws -> UnsafeRawBufferPointer {
        let t = try require(name)
        return UnsafeRawBufferPointer(rebasing: data[t.byteRange])
    }

    /// Widens an F32, F16 or BF16 tensor into `count` fp32 values at `dst`.
    /// `count` must equal the tensor's element count; other dtypes throw ``SafeTensorsError/unsupportedDType``.
    public func readFloat32(_ name: String, into dst: UnsafeMutablePointer<Float>, count: Int) throws {
        let t = try require(name)
        guard count == t.count else {
            throw SafeTensorsError.countMismatch(path: path, tensor: name, expected: t.count, given: count)
        }
        guard count > 0 else { return }
        let src = data.baseAddress! + t.byteRange.lowerBound
        guard FloatWidening.widen(src, t.dtype, into: dst, count: count) else {
            throw SafeTensorsError.unsupportedDType(path: path, tensor: name, dtype: t.dtype, operation: "readFloat32")
        }
    }

    /// The tensor widened to fp32 in a new array (row-major).
    public func float32Array(_ name: String) throws -> [Float] {
        let t = try require(name)
        guard [.f32, .f16, .bf16].contains(t.dtype) else {
            throw SafeTensorsError.unsupportedDType(path: path, tensor: name, dtype: t.dtype, operation: "float32Array")
        }
        return try [Float](unsafeUninitializedCapacity: t.count) { buffer, initialized in
            if let base = buffer.baseAddress { try readFloat32(name, into: base, count: t.count) }
            initialized = t.count
        }
    }

    private func require(_ name: String) throws -> TensorInfo {
        guard let t = info(name) else { throw SafeTensorsError.tensorNotFound(path: path, tensor: name) }
        return t
    }
}
