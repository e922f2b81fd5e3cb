import Foundation

/// One tensor to be written: its header entry plus a closure that produces its bytes on demand, so a
/// writer holds at most one tensor's data in memory at a time.
public struct TensorToWrite {
    public let name: String
    public let dtype: DType
    public let shape: [Int]
    /// Fills the buffer — exactly the tensor's byte count, zero-initialised — with the tensor's data,
    /// little-endian, row-major. Called once, when the tensor's turn in the file comes.
    public let write: (UnsafeMutableRawBufferPointer) throws -> Void

    public init(name: String, dtype: DType, shape: [Int], write: @escaping (UnsafeMutableRawBufferPointer) throws -> Void) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.write = write
    }

    /// An fp32 tensor from an array (its count must match the shape; checked when writing).
    public static func float32(name: String, shape: [Int], data: [Float]) -> TensorToWrite {
        TensorToWrite(name: name, dtype: .f32, shape: shape) { out in
            guard out.count == data.count * 4 else {
                throw SafeTensorsError.invalidTensorToWrite(
                    path: "", tensor: name, reason: "shape \(formatShape(shape)) needs \(out.count / 4) values, got \(data.count)")
            }
            data.withUnsafeBytes { src in
                #if _endian(little)
                out.copyMemory(from: src)
                #else
                for (i, v) in data.enumerated() { out.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
                #endif
            }
        }
    }

    /// A tensor from bytes already in file layout (little-endian, row-major).
    public static func bytes(name: String, dtype: DType, shape: [Int], data: [UInt8]) -> TensorToWrite {
        TensorToWrite(name: name, dtype: dtype, shape: shape) { out in
            guard out.count == data.count else {
                throw SafeTensorsError.invalidTensorToWrite(
                    path: "", tensor: name, reason: "shape needs \(out.count) bytes, got \(data.count)")
            }
            data.withUnsafeBytes { out.copyMemory(from: $0) }
        }
    }

    /// A tensor copied unchanged from an open file (optionally under a new name). The source file stays
    /// mapped until the returned value is gone.
    public static func copy(_ name: String, from file: SafeTensorsFile, as newName: String? = nil) throws -> TensorToWrite {
        guard let info = file.info(name) else { throw SafeTensorsError.tensorNotFound(path: file.path, tensor: name) }
        return TensorToWrite(name: newName ?? name, dtype: info.dtype, shape: info.shape) { out in
            out.copyMemory(from: try file.rawBytes(name))
        }
    }
}

/// Writes safetensors files the way the reference library does (docs/formats.md, safetensors):
/// tensors sorted by descending dtype (reference enum order) then name, contiguous offsets, compact JSON
/// with `__metadata__` first, header padded with spaces to a multiple of 8, little-endian data. The output
/// is byte-identical to `safetensors.torch.save_file` for the same tensors and metadata.
///
/// Writes are atomic (temporary file in the same folder, fsync, rename).
public enum SafeTensorsWriter {
    /// Writes `tensors` to `path`. `metadata` becomes `__metadata__` (keys in byte order); pass `[:]` to omit
    /// it. Tensor names must be unique and not `__metadata__`.
    public static func write(_ tensors: [TensorToWrite], metadata: [String: String] = ["format": "pt"], to path: String) throws {
        let plan = try FilePlan(tensors, metadata: metadata, path: path)
        try AtomicFile.write(to: path) { sink in
            try sink.write(plan.prefixAndHeader)
            for (tensor, byteCount) in plan.ordered {
                try writeTensor(tensor, byteCount: byteCount, to: sink, path: path)
            }
        }
    }

    /// Convenience for in-memory fp32 data.
    public static func write(float32 tensors: [(name: String, shape: [Int], data: [Float])],
                             metadata: [String: String] = ["format": "pt"], to path: String) throws {
        try write(tensors.map { TensorToWrite.float32(name: $0.name, shape: $0.shape, data: $0.data) },
                  metadata: metadata, to: path)
    }

    private static func writeTensor(_ tensor: TensorToWrite, byteCount: Int, to sink: FileSink, path: String) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(byteCount, 1), alignment: 64)
        defer { buffer.deallocate() }
        let view = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<byteCount])
        view.initializeMemory(as: UInt8.self, repeating: 0)
        do {
            try tensor.write(view)
        } catch SafeTensorsError.invalidTensorToWrite("", let name, let reason) {
            // The convenience producers do not know the path; add it.
            throw SafeTensorsError.invalidTensorToWrite(path: path, tensor: name, reason: reason)
        }
        try sink.write(UnsafeRawBufferPointer(view))
    }
}

/// The header and tensor order of one file, computed before any byte is written so that every
/// validation error surfaces before the temporary file exists.
struct FilePlan {
    let prefixAndHeader: [UInt8]
    let ordered: [(TensorToWrite, Int)]
    /// Bytes of tensor data.
    let dataBytes: Int

    init(_ tensors: [TensorToWrite], metadata: [String: String], path: String) throws {
        var seen = Set<String>()
        var sized: [(TensorToWrite, Int)] = []
        sized.reserveCapacity(tensors.count)
        for t in tensors {
            sized.append((t, try byteCount(of: t, path: path)))
            guard seen.insert(t.name).inserted else { throw SafeTensorsError.duplicateTensorName(path: path, tensor: t.name) }
        }
        // Reference `prepare`: descending dtype, then name (Rust `String` order = UTF-8 byte order).
        sized.sort { a, b in
            let ra = a.0.dtype.writeRank, rb = b.0.dtype.writeRank
            if ra != rb { return ra > rb }
            return a.0.name.utf8.lexicographicallyPrecedes(b.0.name.utf8)
        }

        var json = "{"
        var first = true
        if !metadata.isEmpty {
            json += "\"__metadata__\":{"
            let keys = metadata.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            json += keys.map { JSONText.serdeString($0) + ":" + JSONText.serdeString(metadata[$0]!) }.joined(separator: ",")
            json += "}"
            first = false
        }
        var offset = 0
        for (t, n) in sized {
            if !first { json += "," }
            first = false
            let (end, overflow) = offset.addingReportingOverflow(n)
            if overflow { throw SafeTensorsError.invalidTensorToWrite(path: path, tensor: t.name, reason: "total size overflows") }
            json += JSONText.serdeString(t.name) + ":{\"dtype\":\"" + t.dtype.rawValue + "\",\"shape\":["
                + t.shape.map(String.init).joined(separator: ",") + "],\"data_offsets\":[\(offset),\(end)]}"
            offset = end
        }
        json += "}"

        var header = Array(json.utf8)
        // Pad so the data buffer starts 8-aligned (reference: "Force alignment to 8 bytes").
        header += [UInt8](repeating: 0x20, count: (8 - header.count % 8) % 8)
        var prefix = withUnsafeBytes(of: UInt64(header.count).littleEndian) { Array($0) }
        prefix += header
        prefixAndHeader = prefix
        ordered = sized
        dataBytes = offset
    }
}

/// The byte count of a tensor to write, or an error naming it.
func byteCount(of t: TensorToWrite, path: String) throws -> Int {
    if t.name == "__metadata__" {
        throw SafeTensorsError.invalidTensorToWrite(path: path, tensor: t.name, reason: "the name is reserved for metadata")
    }
    switch checkedSize(shape: t.shape, dtype: t.dtype) {
    case let .success((_, bytes)): return bytes
    case let .failure(.negativeDimension(d)):
        throw SafeTensorsError.invalidTensorToWrite(path: path, tensor: t.name, reason: "shape \(formatShape(t.shape)) has negative dimension \(d)")
    case .failure(.overflow):
        throw SafeTensorsError.invalidTensorToWrite(path: path, tensor: t.name, reason: "shape \(formatShape(t.shape)) overflows")
    case .failure(.fractionalBytes):
        throw SafeTensorsError.invalidTensorToWrite(
            path: path, tensor: t.name, reason: "shape \(formatShape(t.shape)) of \(t.dtype.rawValue) is not a whole number of bytes")
    }
}
