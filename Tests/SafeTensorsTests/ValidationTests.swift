import Foundation
import SafeTensors
import XCTest

/// Each malformed input is refused with its own error case, and the message names the file and tensor.
final class ValidationTests: XCTestCase {
    var dir: ScratchDirectory!

    override func setUpWithError() throws {
        dir = try ScratchDirectory()
    }

    override func tearDown() {
        dir = nil
    }

    private func entry(_ name: String, _ dtype: String, _ shape: String, _ begin: Int, _ end: Int) -> String {
        "\"\(name)\":{\"dtype\":\"\(dtype)\",\"shape\":\(shape),\"data_offsets\":[\(begin),\(end)]}"
    }

    func testReferenceMinimalFileIsAccepted() throws {
        // docs/formats.md, safetensors: N = 60 and this header, followed by 16 data bytes.
        let header = "{\"test\":{\"dtype\":\"I32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}"
        XCTAssertEqual(header.utf8.count, 60)
        let f = try SafeTensorsFile(path: try dir.safetensors("min.safetensors", header: header, dataBytes: 16))
        XCTAssertEqual(f.names, ["test"])
        XCTAssertEqual(f.info("test"), TensorInfo(name: "test", dtype: .i32, shape: [2, 2], byteRange: 0..<16))
        XCTAssertEqual(f.metadata, [:])
    }

    func testFileSmallerThan8Bytes() throws {
        let p = try dir.write("tiny.safetensors", [1, 2, 3, 4, 5])
        assertSafeTensorsError(try SafeTensorsFile(path: p), mentions: [p]) {
            if case .fileTooSmall(_, 5) = $0 { return true } else { return false }
        }
        let empty = try dir.write("empty.safetensors", [])
        assertSafeTensorsError(try SafeTensorsFile(path: empty), mentions: [empty]) {
            if case .fileTooSmall(_, 0) = $0 { return true } else { return false }
        }
    }

    func testMissingFile() throws {
        let p = dir.file("absent.safetensors")
        assertSafeTensorsError(try SafeTensorsFile(path: p), mentions: [p]) {
            if case .cannotOpen = $0 { return true } else { return false }
        }
    }

    func testHeaderLengthPastEndOfFile() throws {
        let p = try dir.safetensors("x.safetensors", header: "{}", dataBytes: 0, declaredLength: 3)
        assertSafeTensorsError(try SafeTensorsFile(path: p), mentions: [p]) {
            if case .headerPastEndOfFile(_, 3, 10) = $0 { return true } else { return false }
        }
    }

    func testHeaderLengthOver100MB() throws {
        let p = try dir.safetensors("x.safetensors", header: "{}", dataBytes: 0, declaredLength: 100_000_001)
        assertSafeTensorsError(try SafeTensorsFile(path: p), mentions: [p]) {
            if case .headerTooLarge(_, 100_000_001) = $0 { return true } else { return false }
        }
        // A length that does not even fit in Int must not trap.
        let q = try dir.safetensors("y.safetensors", header: "{}", dataBytes: 0, declaredLength: .max)
        assertSafeTensorsError(try SafeTensorsFile(path: q)) {
            if case .headerTooLarge = $0 { return true } else { return false }
        }
    }

    func testHeaderNotJSON() throws {
        let p = try dir.safetensors("x.safetensors", header: "{\"a\":{\"dtype\":\"F32\",", dataBytes: 0)
        assertSafeTensorsError(try SafeTensorsFile(path: p), mentions: [p]) {
            if case .headerNotJSON = $0 { return true } else { return false }
        }
        let q = try dir.safetensors("y.safetensors", header: "not json at all!", dataBytes: 0)
        assertSafeTensorsError(try SafeTensorsFile(path: q)) {
            if case .headerNotJSON = $0 { return true } else { return false }
        }
    }

    func testHeaderNotUTF8() throws {
        let header: [UInt8] = Array("{\"".utf8) + [0xFF, 0xFE] + Array("\":1}".utf8)  // a key that is not UTF-8
        let bytes = withUnsafeBytes(of: UInt64(header.count).littleEndian) { Array($0) } + header
        let p = try dir.write("x.safetensors", bytes)
        assertSafeTensorsError(try SafeTensorsFile(path: p), mentions: [p]) {
            if case .headerNotUTF8 = $0 { return true } else { return false }
        }
    }

    func testHeaderJSONNotAnObject() throws {
        let p = try dir.safetensors("x.safetensors", header: "[1,2,3]", dataBytes: 0)
        assertSafeTensorsError(try SafeTensorsFile(path: p), mentions: [p]) {
            if case .headerNotObject = $0 { return true } else { return false }
        }
    }

    func testTrailingGarbageAfterHeaderObject() throws {
        let p = try dir.safetensors("x.safetensors", header: "{} x", dataBytes: 0)
        assertSafeTensorsError(try SafeTensorsFile(path: p)) {
            if case .headerNotJSON = $0 { return true } else { return false }
        }
    }

    func testDeepNestingDoesNotCrash() throws {
        let header = "{\"a\":" + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}"
        let p = try dir.safetensors("x.safetensors", header: header, dataBytes: 0)
        assertSafeTensorsError(try SafeTensorsFile(path: p)) {
            if case .headerNotJSON = $0 { return true } else { return false }
        }
    }

    func testDuplicateKeys() throws {
        let header = "{" + entry("w", "F32", "[1]", 0, 4) + "," + entry("w", "F32", "[1]", 4, 8) + "}"
        let p = try dir.safetensors("x.safetensors", header: header, dataBytes: 8)
        assertSafeTensorsError(try SafeTensorsFile(path: p), mentions: [p, "'w'"]) {
            if case .duplicateKey(_, "w") = $0 { return true } else { return false }
        }
    }

    func testUnknownDType() throws {
        let header = "{" + entry("w", "F12", "[2]", 0, 4) + "}"
        let p = try dir.safetensors("x.safetensors", header: header, dataBytes: 4)
        assertSafeTensorsError(try SafeTensorsFile(path: p), mentions: [p, "'w'", "F12"]) {
            if case .unknownDType(_, "w", "F12") = $0 { return true } else { return false }
        }
    }

    func testNegativeShape() throws {
        let header = "{" + entry("w", "F32", "[-1,2]", 0, 8) + "}"
        let p = try dir.safetensors("x.safetensors", header: header, dataBytes: 8)
        assertSafeTensorsError(try SafeTensorsFile(path: p), mentions: [p, "'w'"]) {
            if case .invalidShape(_, "w", _) = $0 { return true } else { return false }
        }
    }

    func testNonIntegerShape() throws {
        for shape in ["[2.5]", "[2.0]", "[\"2\"]", "[1e1]", "[true]", "7", "[[2]]"] {
            let header = "{" + entry("w", "F32", shape, 0, 8) + "}"
            let p = try dir.safetensors("x.safetensors", header: header, dataBytes: 8)
            assertSafeTensorsError(try SafeTensorsFile(path: p), mentions: ["'w'"]) {
                if case .invalidShape(_, "w", _) = $0 { return true } else { return false }
            }
        }
    }

    func testMissingKeyInEntry() throws {
        let header = "{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}"
        let p = try dir.safetensors("x.safetensors", header: header, dataBytes: 4)
        assertSafeTensorsError(try SafeTensorsFile(path: p), mentions: ["'w'", "shape"]) {
            if case .invalidEntry(_, "w", _) = $0 { return true } else { return false }
        }
    }

    func testOverlappingOffsets() throws {
        let header = "{" + entry("a", "F32", "[2]", 0, 8) + "," + entry("b", "F32", "[2]", 4, 12) + "}"
        let p = try dir.safetensors("x.safetensors", header: header, dataBytes: 12)
        assertSafeTensorsError(try SafeTensorsFile(path: p), mentions: [p, "'a'", "'b'"]) {
            if case .overlappingOffsets(_, "b", "a", 4, 8) = $0 { return true } else { return false }
        }
    }

    func testGapInOffsets() throws {
        let header = "{" + entry("a", "F32", "[2]", 0, 8) + "," + entry("b", "F32", "[2]", 12, 20) + "}"
        let p = try dir.safetensors("x.safetensors", header: header, dataBytes: 20)
        assertSafeTensorsError(try SafeTensorsFile(path: p), mentions: [p, "'b'", "gap of 4 bytes"]) {
            if case .gapInOffsets(_, "b", "a", 12, 8) = $0 { return true } else { return false }
        }
    }

    func testFirstOffsetNotZero() throws {
        let header = "{" + entry("a", "F32", "[2]", 4, 12) + "}"
        let p = try dir.safetensors("x.safetensors", header: header, dataBytes: 12)
        assertSafeTensorsError(try SafeTensorsFile(path: p), mentions: [p, "'a'"]) {
            if case .firstOffsetNotZero(_, "a", 4) = $0 { return true } else { return false }
        }
    }

    func testBeginAfterEnd() throws {
        let header = "{" + entry("a", "F32", "[0]", 8, 4) + "}"
        let p = try dir.safetensors("x.safetensors", header: header, dataBytes: 8)
        assertSafeTensorsError(try SafeTensorsFile(path: p), mentions: ["'a'"]) {
            if case .invalidOffsets(_, "a", _) = $0 { return true } else { return false }
        }
    }

    func testSizeShapeMismatch() throws {
        let header = "{" + entry("x", "F32", "[2,3]", 0, 20) + "}"
        let p = try dir.safetensors("x.safetensors", header: header, dataBytes: 20)
        assertSafeTensorsError(
            try SafeTensorsFile(path: p),
            mentions: [p, "tensor 'x' has shape [2,3] (6 × F32 = 24 bytes) but data_offsets span 20 bytes"]
        ) {
            if case .sizeMismatch(_, "x", [2, 3], .f32, 24, 20) = $0 { return true } else { return false }
        }
    }

    func testTrailingBytes() throws {
        let header = "{" + entry("a", "F32", "[2]", 0, 8) + "}"
        let p = try dir.safetensors("x.safetensors", header: header, dataBytes: 9)
        assertSafeTensorsError(try SafeTensorsFile(path: p), mentions: [p]) {
            if case .trailingBytes = $0 { return true } else { return false }
        }
    }

    func testTruncatedData() throws {
        let header = "{" + entry("a", "F32", "[2]", 0, 8) + "}"
        let p = try dir.safetensors("x.safetensors", header: header, dataBytes: 7)
        assertSafeTensorsError(try SafeTensorsFile(path: p), mentions: [p, "truncated"]) {
            if case .truncatedData = $0 { return true } else { return false }
        }
    }

    func testHugeShapeOverflowDoesNotCrash() throws {
        // 2^32 · 2^32 · 4 elements overflows Int64; so does the byte count of 2^62 F32 elements.
        for shape in ["[4294967296,4294967296,4]", "[4611686018427387904]"] {
            let header = "{" + entry("big", "F32", shape, 0, 8) + "}"
            let p = try dir.safetensors("x.safetensors", header: header, dataBytes: 8)
            assertSafeTensorsError(try SafeTensorsFile(path: p), mentions: [p, "'big'", "overflow"]) {
                if case .shapeOverflow(_, "big", _, .f32) = $0 { return true } else { return false }
            }
        }
        // A dimension beyond Int64 itself.
        let header = "{" + entry("big", "F32", "[99999999999999999999999]", 0, 8) + "}"
        let p = try dir.safetensors("y.safetensors", header: header, dataBytes: 8)
        assertSafeTensorsError(try SafeTensorsFile(path: p)) {
            if case .invalidShape(_, "big", _) = $0 { return true } else { return false }
        }
        // Offsets beyond the file size must not trap either.
        let h2 = "{" + entry("e", "U8", "[0]", 9_223_372_036_854_775_807, 9_223_372_036_854_775_807) + "}"
        let q = try dir.safetensors("z.safetensors", header: h2, dataBytes: 0)
        assertSafeTensorsError(try SafeTensorsFile(path: q)) {
            if case .firstOffsetNotZero = $0 { return true } else { return false }
        }
    }

    func testSubByteDTypeNeedsWholeBytes() throws {
        // F4 is 4 bits: 3 elements are 1.5 bytes.
        let header = "{" + entry("q", "F4", "[3]", 0, 1) + "}"
        let p = try dir.safetensors("x.safetensors", header: header, dataBytes: 1)
        assertSafeTensorsError(try SafeTensorsFile(path: p), mentions: ["'q'"]) {
            if case .fractionalByteCount(_, "q", [3], .f4) = $0 { return true } else { return false }
        }
        // …while 4 of them are 2 bytes and fine.
        let ok = "{" + entry("q", "F4", "[4]", 0, 2) + "}"
        let f = try SafeTensorsFile(path: try dir.safetensors("y.safetensors", header: ok, dataBytes: 2))
        XCTAssertEqual(f.info("q")?.byteRange, 0..<2)
    }

    func testMetadataValueNotAString() throws {
        let header = "{\"__metadata__\":{\"format\":\"pt\",\"step\":3}," + entry("a", "F32", "[1]", 0, 4) + "}"
        let p = try dir.safetensors("x.safetensors", header: header, dataBytes: 4)
        assertSafeTensorsError(try SafeTensorsFile(path: p), mentions: [p, "'step'"]) {
            if case .invalidMetadata(_, "step", _) = $0 { return true } else { return false }
        }
    }

    func testMetadataNotAnObject() throws {
        let header = "{\"__metadata__\":[\"pt\"]}"
        let p = try dir.safetensors("x.safetensors", header: header, dataBytes: 0)
        assertSafeTensorsError(try SafeTensorsFile(path: p)) {
            if case .invalidMetadata(_, nil, _) = $0 { return true } else { return false }
        }
    }

    func testEveryReferenceDTypeIsKnown() throws {
        let names = "BOOL U8 I8 I16 U16 F16 BF16 I32 U32 F32 F64 I64 U64 C64 F8_E5M2 F8_E4M3 F8_E8M0 F8_E4M3FNUZ F8_E5M2FNUZ F4 F6_E2M3 F6_E3M2"
        for name in names.split(separator: " ") {
            let dtype = try XCTUnwrap(DType(rawValue: String(name)), "\(name) unknown")
            // 8 elements are a whole number of bytes for every type.
            let bytes = 8 * dtype.bitSize / 8
            let header = "{" + entry("t", String(name), "[8]", 0, bytes) + "}"
            let f = try SafeTensorsFile(path: try dir.safetensors("\(name).safetensors", header: header, dataBytes: bytes))
            XCTAssertEqual(f.info("t")?.dtype, dtype)
        }
        XCTAssertEqual(DType.allCases.count, 22)
    }

    func testWhitespaceAndEscapesInHeader() throws {
        // JSON whitespace anywhere, escaped names, padding spaces and a null __metadata__ are all legal.
        let header = "\n{ \"__metadata__\" : null , \"caf\\u00e9\\n\" : { \"shape\" : [ 1 ] , \"dtype\" : \"U8\" , "
            + "\"data_offsets\" : [ 0 , 1 ] , \"extra\" : {\"ignored\": [1, 2.5, true]} } }   "
        let f = try SafeTensorsFile(path: try dir.safetensors("x.safetensors", header: header, dataBytes: 1))
        XCTAssertEqual(f.names, ["café\n"])
        XCTAssertEqual(f.metadata, [:])
    }

    func testEmptyTensorsAndEmptyFile() throws {
        // Zero-size tensors may share an offset; a header with no tensors has no data.
        let header = "{" + entry("z1", "F32", "[0,3]", 0, 0) + "," + entry("z2", "BF16", "[2,0]", 0, 0) + ","
            + entry("s", "F32", "[]", 0, 4) + "}"
        let f = try SafeTensorsFile(path: try dir.safetensors("x.safetensors", header: header, dataBytes: 4))
        XCTAssertEqual(Set(f.names), ["z1", "z2", "s"])
        XCTAssertEqual(f.info("s")?.count, 1)
        XCTAssertEqual(f.info("z1")?.count, 0)
        XCTAssertEqual(try f.float32Array("z2"), [])

        let empty = try SafeTensorsFile(path: try dir.safetensors("e.safetensors", header: "{}      ", dataBytes: 0))
        XCTAssertEqual(empty.names, [])
    }
}
