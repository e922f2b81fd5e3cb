import Foundation
import GGUF
import XCTest

/// The small files under WriterFixtures/ were made by the `gguf` Python package (see WriterFixtures/README.md).
enum WriterFixtures {
    static func url(_ name: String, file: String = #filePath) -> URL {
        URL(fileURLWithPath: file).deletingLastPathComponent().appendingPathComponent("WriterFixtures").appendingPathComponent(name)
    }

    static func floats(_ name: String) throws -> [Float] {
        let data = try Data(contentsOf: url(name))
        return data.withUnsafeBytes { raw in (0..<data.count / 4).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) } }
    }
}

func temporaryDirectory() throws -> String {
    let dir = NSTemporaryDirectory() + "gguf-writer-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

final class GGUFWriterTests: XCTestCase {
    /// The same metadata (every value type) and tensors (F32, F16, Q8_0) as the fixture, written by our
    /// writer, give the `gguf` package's file byte for byte: header, order, alignment and padding.
    func testWritesTheSameBytesAsTheGGUFPackage() throws {
        let metadata: [(key: String, value: GGUFValue)] = [
            ("general.architecture", .string("llama")),
            ("test.u8", .uint8(200)), ("test.i8", .int8(-100)), ("test.u16", .uint16(60000)), ("test.i16", .int16(-30000)),
            ("test.u32", .uint32(4_000_000_000)), ("test.i32", .int32(-2_000_000_000)), ("test.f32", .float32(0.1)),
            ("test.bool", .bool(true)), ("test.string", .string("héllo <|eot_id|>\n")),
            ("test.u64", .uint64(1 << 63 + 5)), ("test.i64", .int64(-(1 << 62))), ("test.f64", .float64(-2.5e-300)),
            ("test.strings", .array(elementType: .string, [.string("a"), .string(""), .string("Ġthe")])),
            ("test.ints", .array(elementType: .int32, [.int32(1), .int32(-2), .int32(3)])),
            ("test.floats", .array(elementType: .float32, [.float32(0.5), .float32(-1.25)])),
        ]
        let a = (0..<12).map { Float($0) / 7 }
        let b = (0..<5).map { Float16(Float($0) - 2).bitPattern }
        let q = try Data(contentsOf: WriterFixtures.url("q8_0_expected.bin")).prefix(68)
        let tensors = [
            GGUFTensorToWrite(name: "a.weight", type: .f32, dimensions: [4, 3]) { out in a.withUnsafeBytes { out.copyMemory(from: $0) } },
            GGUFTensorToWrite(name: "b.weight", type: .f16, dimensions: [5]) { out in b.withUnsafeBytes { out.copyMemory(from: $0) } },
            GGUFTensorToWrite(name: "c.weight", type: .q8_0, dimensions: [32, 2]) { out in q.withUnsafeBytes { out.copyMemory(from: $0) } },
        ]
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/out.gguf"
        try GGUFWriter.write(metadata: metadata, tensors: tensors, to: path)
        let ours = try Data(contentsOf: URL(fileURLWithPath: path))
        let reference = try Data(contentsOf: WriterFixtures.url("writer_reference.gguf"))
        XCTAssertEqual(ours.count, reference.count)
        XCTAssertEqual(ours, reference)
    }

    func testRefusesDuplicatesBadAlignmentAndPartialBlocks() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/bad.gguf"
        let t = GGUFTensorToWrite(name: "t", type: .f32, dimensions: [2]) { _ in }
        XCTAssertThrowsError(try GGUFWriter.write(metadata: [("k", .bool(true)), ("k", .bool(false))], tensors: [], to: path)) {
            XCTAssertEqual($0 as? GGUFWriteError, .duplicateKey(path: path, key: "k"))
        }
        XCTAssertThrowsError(try GGUFWriter.write(metadata: [], tensors: [t, t], to: path)) {
            XCTAssertEqual($0 as? GGUFWriteError, .duplicateTensor(path: path, tensor: "t"))
        }
        XCTAssertThrowsError(try GGUFWriter.write(metadata: [("general.alignment", .uint32(24))], tensors: [], to: path))
        XCTAssertThrowsError(try GGUFWriter.write(metadata: [("general.alignment", .uint64(64))], tensors: [], to: path))
        let partial = GGUFTensorToWrite(name: "q", type: .q8_0, dimensions: [48, 2]) { _ in }
        XCTAssertThrowsError(try GGUFWriter.write(metadata: [], tensors: [partial], to: path)) { error in
            XCTAssertTrue(error.localizedDescription.contains("multiple of 32"), error.localizedDescription)
        }
        let mixed = GGUFValue.array(elementType: .int32, [.int32(1), .uint32(2)])
        XCTAssertThrowsError(try GGUFWriter.write(metadata: [("m", mixed)], tensors: [], to: path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: path), "a refused write leaves no file")
    }

    /// A custom alignment pads the tensor infos and every tensor to it.
    func testCustomAlignmentPadsEveryTensor() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/aligned.gguf"
        let ones = GGUFTensorToWrite(name: "x", type: .f32, dimensions: [3]) { out in
            for i in 0..<3 { out.storeBytes(of: Float(1).bitPattern, toByteOffset: 4 * i, as: UInt32.self) }
        }
        let twos = GGUFTensorToWrite(name: "y", type: .f32, dimensions: [1]) { out in out.storeBytes(of: Float(2).bitPattern, as: UInt32.self) }
        try GGUFWriter.write(metadata: [("general.alignment", .uint32(64))], tensors: [ones, twos], to: path)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        XCTAssertEqual(bytes.count % 64, 0)
        let dataStart = bytes.count - 128   // two tensors, each padded to 64 bytes
        XCTAssertEqual(dataStart % 64, 0)
        XCTAssertEqual(Array(bytes[dataStart..<dataStart + 4]), [0, 0, 0x80, 0x3F])
        XCTAssertEqual(Array(bytes[dataStart + 64..<dataStart + 68]), [0, 0, 0, 0x40])
        XCTAssertTrue(bytes[dataStart + 12..<dataStart + 64].allSatisfy { $0 == 0 })
    }
}

final class Q8_0QuantizerTests: XCTestCase {
    /// 48 blocks (zero, constant, exact halves, tiny, near the f16 range, random) quantize to the `gguf`
    /// package's bytes exactly.
    func testBitExactWithTheGGUFPackage() throws {
        let x = try WriterFixtures.floats("q8_0_input.f32")
        let expected = [UInt8](try Data(contentsOf: WriterFixtures.url("q8_0_expected.bin")))
        XCTAssertEqual(x.count, 48 * 32)
        var out = [UInt8](repeating: 0xAA, count: 48 * 34)
        x.withUnsafeBufferPointer { src in out.withUnsafeMutableBytes { Q8_0Quantizer.quantize(src.baseAddress!, count: x.count, into: $0.baseAddress!) } }
        XCTAssertEqual(out.count, expected.count)
        for block in 0..<48 where out[block * 34..<(block + 1) * 34] != expected[block * 34..<(block + 1) * 34] {
            XCTFail("block \(block) differs: \(Array(out[block * 34..<block * 34 + 6])) vs \(Array(expected[block * 34..<block * 34 + 6]))")
        }
    }
}
