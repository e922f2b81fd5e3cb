import XCTest
import GGUF

/// The reader refuses hostile or damaged files with a named error, never a crash or an over-read.
final class ValidationTests: XCTestCase {
    private func open(_ b: GGUFBytes) throws -> GGUFFile {
        let path = try b.write()
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try GGUFFile(path: path)
    }

    private func expect(_ b: GGUFBytes, _ contains: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try open(b), file: file, line: line) { error in
            let message = (error as? LocalizedError)?.errorDescription ?? "\(error)"
            XCTAssertTrue(message.contains(contains), "message \"\(message)\" lacks \"\(contains)\"", file: file, line: line)
        }
    }

    func testValidFileReads() throws {
        let f = try open(.valid())
        XCTAssertEqual(f.version, 3)
        XCTAssertEqual(f["general.architecture"], .string("llama"))
        XCTAssertEqual(f["list"], .array(elementType: .int32, [.int32(7), .int32(-1)]))
        XCTAssertEqual(f.metadata.map(\.key), ["general.architecture", "list", "general.alignment"])
        XCTAssertEqual(f.tensors.map(\.name), ["a", "b"])
        XCTAssertEqual(f.tensor(named: "b")?.shape, [2, 2])
        var out = [Float](repeating: 0, count: 4)
        try out.withUnsafeMutableBufferPointer { try f.dequantize(f.tensor(named: "b")!, into: $0.baseAddress!) }
        XCTAssertEqual(out, [0, -1, -2, -3])
        var v2 = GGUFBytes.valid()
        v2.bytes[4] = 2
        XCTAssertEqual(try open(v2).version, 2)
    }

    func testEveryTruncationIsAnError() {
        let full = GGUFBytes.valid().bytes
        for n in 0..<full.count {
            var b = GGUFBytes()
            b.bytes = Array(full[..<n])
            XCTAssertThrowsError(try open(b), "prefix of \(n) bytes")
        }
    }

    func testMagicAndVersion() {
        var b = GGUFBytes.valid(); b.bytes[0] = UInt8(ascii: "X")
        expect(b, "not a GGUF file")
        b = .valid(); b.bytes[4...7] = [0, 0, 0, 3]
        expect(b, "big-endian")
        b = .valid(); b.bytes[4] = 1
        expect(b, "GGUF version 1 is not supported")
    }

    func testCountsAndLengthsAreBoundedByTheFile() {
        var b = GGUFBytes(); b.header(tensors: 1 << 40, metadata: 0)
        expect(b, "the tensor count is 1099511627776")
        b = GGUFBytes(); b.header(tensors: 0, metadata: 1); b.u64(UInt64.max); b.bytes += [0, 0, 0, 0, 0]
        expect(b, "the file ends inside metadata key #0")
        b = GGUFBytes(); b.header(tensors: 0, metadata: 1); b.string("k"); b.u32(9); b.u32(4); b.u64(1 << 50)
        expect(b, "the length of array \"k\"")
    }

    func testMetadataValues() {
        var b = GGUFBytes(); b.header(tensors: 0, metadata: 1); b.string("k"); b.u32(13); b.u64(0)
        expect(b, "unknown value type 13")
        b = GGUFBytes(); b.header(tensors: 0, metadata: 2); b.keyU32("k", 1); b.keyU32("k", 2)
        expect(b, "\"k\" appears twice")
        b = GGUFBytes(); b.header(tensors: 0, metadata: 1); b.string("k"); b.u32(7); b.u8(2)
        expect(b, "a BOOL must be 0 or 1")
        b = GGUFBytes(); b.header(tensors: 0, metadata: 1); b.u64(2); b.bytes += [0xC3, 0x28]; b.u32(4); b.u32(0)
        expect(b, "not valid UTF-8")
        b = GGUFBytes(); b.header(tensors: 0, metadata: 1); b.keyU32("general.alignment", 24)
        expect(b, "general.alignment")
        b = GGUFBytes(); b.header(tensors: 0, metadata: 1); b.string("general.alignment"); b.u32(10); b.u64(32)
        expect(b, "must be a UINT32 power of two")
        // Arrays of arrays are read (bounded depth); too deep is refused.
        func nested(_ levels: Int) -> GGUFBytes {
            var b = GGUFBytes(); b.header(tensors: 0, metadata: 1); b.string("k"); b.u32(9)
            for _ in 0..<levels - 1 { b.u32(9); b.u64(1) }
            b.u32(4); b.u64(0)
            return b
        }
        XCTAssertEqual(try open(nested(2))["k"], .array(elementType: .array, [.array(elementType: .uint32, [])]))
        expect(nested(6), "arrays nest deeper")
    }

    func testTensorEntries() {
        func one(dims: [UInt64], type: UInt32 = 0, offset: UInt64 = 0, data: Int = 64) -> GGUFBytes {
            var b = GGUFBytes(); b.header(tensors: 1, metadata: 0); b.tensor("t", dims: dims, type: type, offset: offset)
            b.pad(to: 32); b.bytes += [UInt8](repeating: 0, count: data)
            return b
        }
        expect(one(dims: [4], offset: 8), "offset 8 is not a multiple of the alignment 32")
        expect(one(dims: [100]), "runs past the end of the file")
        expect(one(dims: [1 << 62, 4]), "overflows")
        expect(one(dims: [1, 1, 1, 1, 1]), "has 5 dims")
        expect(one(dims: [16], type: 12), "row width 16 is not a multiple of the Q4_K block size 256")
        expect(one(dims: [32], type: 4), "unknown ggml type id 4")
        var b = GGUFBytes(); b.header(tensors: 2, metadata: 0)
        b.tensor("x", dims: [16], type: 0, offset: 0); b.tensor("y", dims: [8], type: 0, offset: 32)
        b.pad(to: 32); b.bytes += [UInt8](repeating: 0, count: 96)
        expect(b, "\"x\" and \"y\" overlap")
        b = GGUFBytes(); b.header(tensors: 2, metadata: 0)
        b.tensor("x", dims: [8], type: 0, offset: 0); b.tensor("x", dims: [8], type: 0, offset: 32)
        expect(b, "tensor \"x\" appears twice")
    }

    func testUnsupportedTypeIsNamedWhenUsed() throws {
        var b = GGUFBytes(); b.header(tensors: 1, metadata: 0); b.tensor("w", dims: [256], type: 10, offset: 0)
        b.pad(to: 32); b.bytes += [UInt8](repeating: 0, count: 84)
        let f = try open(b)
        var out = [Float](repeating: 0, count: 256)
        XCTAssertThrowsError(try out.withUnsafeMutableBufferPointer { try f.dequantize(f.tensor(named: "w")!, into: $0.baseAddress!) }) {
            XCTAssertTrue(($0 as? LocalizedError)?.errorDescription?.contains("\"w\" is Q2_K, which cannot be dequantized") == true, "\($0)")
        }
    }

    /// Random single-byte damage anywhere in the header: either a clean error or a valid read, never a crash.
    func testRandomDamageNeverCrashes() {
        let full = GGUFBytes.valid().bytes
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<400 {
            var b = GGUFBytes(); b.bytes = full
            let i = Int.random(in: 0..<160, using: &rng)
            b.bytes[i] = UInt8.random(in: 0...255, using: &rng)
            _ = try? open(b)
        }
    }
}
