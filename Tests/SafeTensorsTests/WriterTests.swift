import Foundation
import SafeTensors
import TestSupport
import XCTest

/// The writer round-trips every supported layout and produces the reference library's exact bytes.
final class WriterTests: XCTestCase {
    var dir: ScratchDirectory!

    override func setUpWithError() throws {
        dir = try ScratchDirectory()
    }

    override func tearDown() {
        dir = nil
    }

    // MARK: byte-identical to Python safetensors

    /// Every golden safetensors file was written by `safetensors.torch.save_file` / `save_pretrained`.
    /// Re-writing its tensors (handed over in reverse order, to exercise the sort) with its metadata must
    /// reproduce the file byte for byte.
    func testRewritingGoldenFilesIsByteIdentical() throws {
        let root = try SharedFixtures.path("golden")
        let files = try FileManager.default.subpathsOfDirectory(atPath: root.path)
            .filter { $0.hasSuffix(".safetensors") }.sorted()
        XCTAssertGreaterThanOrEqual(files.count, 10)
        for relative in files {
            let source = root.appendingPathComponent(relative).path
            let original = try SafeTensorsFile(path: source)
            let tensors = try original.names.reversed().map { try TensorToWrite.copy($0, from: original) }
            let out = dir.file("rewrite.safetensors")
            try SafeTensorsWriter.write(tensors, metadata: original.metadata, to: out)
            let expected = try Data(contentsOf: URL(fileURLWithPath: source))
            let actual = try Data(contentsOf: URL(fileURLWithPath: out))
            XCTAssertEqual(actual.count, expected.count, relative)
            XCTAssertTrue(actual == expected, "\(relative) differs from the Python-written file")
        }
    }

    /// Byte layouts from the reference library's own serialization tests (huggingface/safetensors
    /// `tensor.rs`): one F32 tensor [1,1,2,3] named `attn0` with 7 spaces of padding, and an empty file
    /// with metadata.
    func testReferenceSerializationExamples() throws {
        let values: [Float] = [0, 1, 2, 3, 4, 5]
        try SafeTensorsWriter.write(float32: [("attn0", [1, 1, 2, 3], values)], metadata: [:], to: dir.file("a.safetensors"))
        let header = "{\"attn0\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],\"data_offsets\":[0,24]}}" + String(repeating: " ", count: 7)
        var expected: [UInt8] = [72, 0, 0, 0, 0, 0, 0, 0] + Array(header.utf8)
        expected += [0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64]
        XCTAssertEqual(try dir.contents("a.safetensors"), expected)

        try SafeTensorsWriter.write([], metadata: ["framework": "pt"], to: dir.file("b.safetensors"))
        XCTAssertEqual(try dir.contents("b.safetensors"),
                       [40, 0, 0, 0, 0, 0, 0, 0] + Array("{\"__metadata__\":{\"framework\":\"pt\"}}     ".utf8))

        try SafeTensorsWriter.write([], metadata: [:], to: dir.file("c.safetensors"))
        XCTAssertEqual(try dir.contents("c.safetensors"), [8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32])
    }

    /// docs/formats.md, safetensors: sort by descending dtype in the reference enum order (F32 before BF16), then by name.
    func testMixedDTypeOrder() throws {
        func t(_ name: String, _ dtype: DType) -> TensorToWrite {
            TensorToWrite(name: name, dtype: dtype, shape: [2]) { _ in }
        }
        let tensors = [t("a", .bf16), t("b", .f32), t("c", .i64), t("d", .u8), t("e", .f16), t("f", .bool),
                       t("g", .f64), t("h", .i32), t("i", .f32), t("B", .f32), t("j", .u64), t("k", .f8E4M3)]
        try SafeTensorsWriter.write(tensors, to: dir.file("m.safetensors"))
        let f = try SafeTensorsFile(path: dir.file("m.safetensors"))
        // U64 > I64 > F64 > F32 (by name, uppercase first) > I32 > BF16 > F16 > F8_E4M3 > U8 > BOOL.
        XCTAssertEqual(f.names, ["j", "c", "g", "B", "b", "i", "h", "a", "e", "k", "d", "f"])
        // Offsets are contiguous and the data buffer starts 8-aligned.
        var end = 0
        for n in f.names {
            XCTAssertEqual(f.info(n)!.byteRange.lowerBound, end)
            end = f.info(n)!.byteRange.upperBound
        }
        let bytes = try dir.contents("m.safetensors")
        let headerLength = bytes[0..<8].reversed().reduce(0) { $0 << 8 | Int($1) }
        XCTAssertEqual(headerLength % 8, 0)
        XCTAssertEqual(8 + headerLength + end, bytes.count)
        XCTAssertTrue(String(decoding: bytes[8..<(8 + headerLength)], as: UTF8.self).hasPrefix("{\"__metadata__\":{\"format\":\"pt\"},\"j\":"))
    }

    // MARK: round trips

    func testFloat32RoundTripKeepsBits() throws {
        let special: [Float] = [0, -0.0, 1, -1.5, .infinity, -.infinity, .leastNonzeroMagnitude, .greatestFiniteMagnitude,
                                Float(bitPattern: 0x7FC0_1234), 3.14159274]
        let matrix = (0..<12).map { Float($0) * 0.25 - 1 }
        try SafeTensorsWriter.write(float32: [("special", [10], special), ("m", [3, 4], matrix)], to: dir.file("f.safetensors"))
        let f = try SafeTensorsFile(path: dir.file("f.safetensors"))
        XCTAssertEqual(f.metadata, ["format": "pt"])
        XCTAssertEqual(f.info("m")?.shape, [3, 4])
        XCTAssertEqual(try f.float32Array("special").map(\.bitPattern), special.map(\.bitPattern))
        XCTAssertEqual(try f.float32Array("m"), matrix)
    }

    func testBF16RoundTrip() throws {
        // Halfwords chosen by hand: 1.0, -2.0, 0.5, smallest subnormal, +inf, -0.
        let halves: [UInt16] = [0x3F80, 0xC000, 0x3F00, 0x0001, 0x7F80, 0x8000]
        let expected: [Float] = [1, -2, 0.5, Float(bitPattern: 0x0001_0000), .infinity, -0.0]
        let bytes = halves.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        try SafeTensorsWriter.write([.bytes(name: "w", dtype: .bf16, shape: [2, 3], data: bytes)], to: dir.file("b.safetensors"))
        let f = try SafeTensorsFile(path: dir.file("b.safetensors"))
        XCTAssertEqual(f.info("w")?.dtype, .bf16)
        XCTAssertEqual(Array(try f.rawBytes("w")), bytes)
        XCTAssertEqual(try f.float32Array("w").map(\.bitPattern), expected.map(\.bitPattern))
    }

    func testF16RoundTripWidensExactly() throws {
        // IEEE binary16 values by hand: 1, -2, 65504 (max), 2⁻²⁴ (min subnormal), 2⁻¹⁴ (min normal), inf, -0, 1/3.
        let halves: [UInt16] = [0x3C00, 0xC000, 0x7BFF, 0x0001, 0x0400, 0x7C00, 0x8000, 0x3555]
        let expected: [Float] = [1, -2, 65504, 0x1p-24, 0x1p-14, .infinity, -0.0, 0.333251953125]
        let bytes = halves.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        try SafeTensorsWriter.write([.bytes(name: "h", dtype: .f16, shape: [8], data: bytes)], to: dir.file("h.safetensors"))
        let f = try SafeTensorsFile(path: dir.file("h.safetensors"))
        XCTAssertEqual(try f.float32Array("h").map(\.bitPattern), expected.map(\.bitPattern))
        // NaN stays NaN.
        try SafeTensorsWriter.write([.bytes(name: "n", dtype: .f16, shape: [], data: [0x00, 0x7E])], to: dir.file("n.safetensors"))
        XCTAssertTrue(try SafeTensorsFile(path: dir.file("n.safetensors")).float32Array("n")[0].isNaN)
    }

    func testScalarAndZeroSizeTensors() throws {
        try SafeTensorsWriter.write(float32: [("loss", [], [2.5]), ("empty", [0, 3], []), ("empty2", [4, 0, 2], []),
                                              ("v", [3], [1, 2, 3])], to: dir.file("s.safetensors"))
        let f = try SafeTensorsFile(path: dir.file("s.safetensors"))
        XCTAssertEqual(f.info("loss")?.shape, [])
        XCTAssertEqual(try f.float32Array("loss"), [2.5])
        XCTAssertEqual(f.info("empty")?.shape, [0, 3])
        XCTAssertEqual(f.info("empty")?.byteCount, 0)
        XCTAssertEqual(try f.float32Array("empty2"), [])
        XCTAssertEqual(try f.float32Array("v"), [1, 2, 3])
        // Only empty tensors: the file ends right after the header.
        try SafeTensorsWriter.write(float32: [("z", [0], [])], to: dir.file("z.safetensors"))
        XCTAssertEqual(try SafeTensorsFile(path: dir.file("z.safetensors")).names, ["z"])
    }

    func testOtherDTypesAreRawOnly() throws {
        let bytes: [UInt8] = [1, 0, 0, 0, 2, 0, 0, 0]
        try SafeTensorsWriter.write([.bytes(name: "ids", dtype: .i32, shape: [2], data: bytes)], to: dir.file("i.safetensors"))
        let f = try SafeTensorsFile(path: dir.file("i.safetensors"))
        XCTAssertEqual(Array(try f.rawBytes("ids")), bytes)
        assertSafeTensorsError(try f.float32Array("ids"), mentions: ["'ids'", "I32"]) {
            if case .unsupportedDType(_, "ids", .i32, _) = $0 { return true } else { return false }
        }
    }

    func testNamesAndMetadataNeedingEscapes() throws {
        let name = "we\"ird\\name\n\u{01}é😀"
        try SafeTensorsWriter.write(float32: [(name, [1], [7])], metadata: ["format": "pt", "note": "tab\there"],
                                    to: dir.file("e.safetensors"))
        let f = try SafeTensorsFile(path: dir.file("e.safetensors"))
        XCTAssertEqual(f.names, [name])
        XCTAssertEqual(f.metadata, ["format": "pt", "note": "tab\there"])
        // serde_json style: control characters escaped (lowercase \u), non-ASCII raw UTF-8.
        let text = String(decoding: try dir.contents("e.safetensors").dropFirst(8), as: UTF8.self)
        XCTAssertTrue(text.contains("\"we\\\"ird\\\\name\\n\\u0001é😀\""), text)
        XCTAssertTrue(text.hasPrefix("{\"__metadata__\":{\"format\":\"pt\",\"note\":\"tab\\there\"}"), text)
    }

    // MARK: refusing bad input, atomically

    func testWriterRejectsBadTensors() throws {
        let p = dir.file("bad.safetensors")
        assertSafeTensorsError(try SafeTensorsWriter.write(float32: [("a", [1], [1]), ("a", [1], [2])], to: p), mentions: ["'a'"]) {
            if case .duplicateTensorName(_, "a") = $0 { return true } else { return false }
        }
        assertSafeTensorsError(try SafeTensorsWriter.write(float32: [("__metadata__", [1], [1])], to: p)) {
            if case .invalidTensorToWrite(_, "__metadata__", _) = $0 { return true } else { return false }
        }
        assertSafeTensorsError(try SafeTensorsWriter.write(float32: [("n", [-1], [])], to: p)) {
            if case .invalidTensorToWrite(_, "n", _) = $0 { return true } else { return false }
        }
        assertSafeTensorsError(try SafeTensorsWriter.write(float32: [("c", [2, 2], [1, 2, 3])], to: p), mentions: [p, "'c'"]) {
            if case .invalidTensorToWrite(_, "c", _) = $0 { return true } else { return false }
        }
        assertSafeTensorsError(try SafeTensorsWriter.write(
            [TensorToWrite(name: "o", dtype: .f32, shape: [Int.max / 2, 4]) { _ in }], to: p)) {
            if case .invalidTensorToWrite(_, "o", _) = $0 { return true } else { return false }
        }
        XCTAssertEqual(try dir.listing(), [], "nothing may be left behind")
    }

    func testFailedWriteLeavesExistingFileUntouched() throws {
        let p = dir.file("model.safetensors")
        try SafeTensorsWriter.write(float32: [("old", [1], [1])], to: p)
        let before = try dir.contents("model.safetensors")
        struct Boom: Error {}
        let failing = [TensorToWrite.float32(name: "a", shape: [1], data: [1]),
                       TensorToWrite(name: "b", dtype: .f32, shape: [1]) { _ in throw Boom() }]
        XCTAssertThrowsError(try SafeTensorsWriter.write(failing, to: p)) { XCTAssertTrue($0 is Boom) }
        XCTAssertEqual(try dir.contents("model.safetensors"), before)
        XCTAssertEqual(try dir.listing(), ["model.safetensors"], "the temporary file must be removed")
    }

    func testProducersAreCalledOneAtATimeWithExactBuffers() throws {
        var calls: [(String, Int)] = []
        let tensors = [("x", DType.f32, [3, 5]), ("y", DType.bf16, [7]), ("z", DType.u8, [0])].map { spec in
            TensorToWrite(name: spec.0, dtype: spec.1, shape: spec.2) { buffer in
                calls.append((spec.0, buffer.count))
                XCTAssertTrue(buffer.allSatisfy { $0 == 0 }, "buffers start zeroed")
                for i in 0..<buffer.count { buffer[i] = UInt8(truncatingIfNeeded: i) }
            }
        }
        try SafeTensorsWriter.write(tensors, to: dir.file("p.safetensors"))
        XCTAssertEqual(calls.map(\.0), ["x", "y", "z"])
        XCTAssertEqual(calls.map(\.1), [60, 14, 0])
        let f = try SafeTensorsFile(path: dir.file("p.safetensors"))
        XCTAssertEqual(Array(try f.rawBytes("y")), (0..<14).map(UInt8.init))
    }
}
