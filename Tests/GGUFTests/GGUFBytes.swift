import Foundation

/// Assembles GGUF bytes by hand for the validation tests (independent of any writer).
struct GGUFBytes {
    var bytes: [UInt8] = []

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func string(_ s: String) { u64(UInt64(s.utf8.count)); bytes += Array(s.utf8) }

    /// Header: magic, version, tensor count, metadata count.
    mutating func header(version: UInt32 = 3, tensors: UInt64, metadata: UInt64) {
        bytes += Array("GGUF".utf8); u32(version); u64(tensors); u64(metadata)
    }

    mutating func keyString(_ key: String, _ value: String) { string(key); u32(8); string(value) }
    mutating func keyU32(_ key: String, _ value: UInt32) { string(key); u32(4); u32(value) }

    mutating func tensor(_ name: String, dims: [UInt64], type: UInt32, offset: UInt64) {
        string(name); u32(UInt32(dims.count)); for d in dims { u64(d) }; u32(type); u64(offset)
    }

    mutating func pad(to alignment: Int) { while bytes.count % alignment != 0 { u8(0) } }

    /// A valid file: two metadata keys, two F32 tensors of 8 and 4 elements.
    static func valid() -> GGUFBytes {
        var b = GGUFBytes()
        b.header(tensors: 2, metadata: 3)
        b.keyString("general.architecture", "llama")
        b.string("list"); b.u32(9); b.u32(5); b.u64(2); b.u32(7); b.u32(0xFFFF_FFFF)  // ARRAY of INT32 [7, -1]
        b.keyU32("general.alignment", 32)
        b.tensor("a", dims: [8], type: 0, offset: 0)
        b.tensor("b", dims: [2, 2], type: 0, offset: 32)
        b.pad(to: 32)
        for i in 0..<8 { withUnsafeBytes(of: Float(i).bitPattern.littleEndian) { b.bytes += $0 } }
        for i in 0..<4 { withUnsafeBytes(of: Float(-i).bitPattern.littleEndian) { b.bytes += $0 } }
        return b
    }

    func write() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("gguf-test-\(UUID().uuidString).gguf").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }
}
