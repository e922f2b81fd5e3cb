import XCTest
import GGUF

/// Every dequantizer against the `gguf` package's numpy dequantizers on random valid blocks
/// (Fixtures/quant_blocks.gguf; Fixtures/README.md says how it was made), bit for bit.
final class DequantizationTests: XCTestCase {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/quant_blocks.gguf").path

    func testEveryTypeMatchesTheReferenceBitForBit() throws {
        let file = try GGUFFile(path: Self.fixture)
        let types: [GGMLType] = [.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q4_K, .q5_K, .q6_K]
        for type in types {
            let quantized = try XCTUnwrap(file.tensor(named: type.name), type.name)
            let expected = try XCTUnwrap(file.tensor(named: type.name + ".expected"))
            XCTAssertEqual(quantized.type, type)
            XCTAssertEqual(quantized.shape, [3, 512])
            XCTAssertEqual(expected.type, .f32)
            var got = [Float](repeating: .nan, count: quantized.elementCount)
            var want = got
            try got.withUnsafeMutableBufferPointer { try file.dequantize(quantized, into: $0.baseAddress!) }
            try want.withUnsafeMutableBufferPointer { try file.dequantize(expected, into: $0.baseAddress!) }
            let mismatches = zip(got, want).filter { $0.bitPattern != $1.bitPattern }.count
            XCTAssertEqual(mismatches, 0, "\(type.name): \(mismatches) of \(got.count) values differ from the gguf package")
            XCTAssertTrue(want.contains { $0 != 0 }, "\(type.name): the expectation is all zeros")
        }
    }

    /// Dequantizing row by row (as the frozen weights do) gives the rows of the whole tensor.
    func testRowsDequantizeOnTheirOwn() throws {
        let file = try GGUFFile(path: Self.fixture)
        for type: GGMLType in [.q4_K, .q6_K, .q5_1] {
            let t = try XCTUnwrap(file.tensor(named: type.name))
            var whole = [Float](repeating: 0, count: t.elementCount)
            try whole.withUnsafeMutableBufferPointer { try file.dequantize(t, into: $0.baseAddress!) }
            let rowBytes = try XCTUnwrap(type.rowBytes(columns: t.columns))
            var row = [Float](repeating: 0, count: t.columns)
            row.withUnsafeMutableBufferPointer {
                GGMLDequantizer.dequantize(type, from: file.bytes(of: t).baseAddress! + 2 * rowBytes, to: $0.baseAddress!, count: t.columns)
            }
            XCTAssertEqual(row, Array(whole[(2 * t.columns)...]))
        }
    }

    func testTypeTableMatchesGGML() {
        // (block size, bytes per block) from ggml's type traits for a few ids, incl. retired gaps.
        XCTAssertEqual(GGMLType(rawValue: 12), .q4_K)
        XCTAssertEqual(GGMLType.q4_K.bytesPerBlock, 144)
        XCTAssertEqual(GGMLType.q6_K.bytesPerBlock, 210)
        XCTAssertEqual(GGMLType.q8_0.bytesPerBlock, 34)
        XCTAssertEqual(GGMLType.bf16.rawValue, 30)
        XCTAssertNil(GGMLType(rawValue: 4))
        XCTAssertNil(GGMLType(rawValue: 31))
        XCTAssertEqual(GGMLType(name: "q4_k"), .q4_K)
        XCTAssertEqual(GGMLType.q4_K.rowBytes(columns: 4096), 16 * 144)
        XCTAssertNil(GGMLType.q4_K.rowBytes(columns: 100))
    }
}
