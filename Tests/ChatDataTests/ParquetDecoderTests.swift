import XCTest
@testable import ChatData

/// The codecs and the level encoding on small hand-checked inputs; gzip/zlib bytes were made by Python's
/// `gzip.compress(data, compresslevel=0 or 9, mtime=0)` and `zlib.compress(data, 9)`.
final class ParquetDecoderTests: XCTestCase {
    func inflate(_ bytes: [UInt8], size: Int) throws -> [UInt8] {
        try bytes.withUnsafeBufferPointer { try InflateDecoder.decode($0, expectedSize: size, what: "test") }
    }

    func testInflateStoredFixedAndZlib() throws {
        let stored: [UInt8] = [0x1F, 0x8B, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x03, 0x01, 0x11, 0x00, 0xEE, 0xFF, 0x68, 0x65,
                               0x6C, 0x6C, 0x6F, 0x20, 0x68, 0x65, 0x6C, 0x6C, 0x6F, 0x20, 0x68, 0x65, 0x6C, 0x6C, 0x6F, 0x80, 0x88,
                               0xF9, 0xE5, 0x11, 0x00, 0x00, 0x00]
        XCTAssertEqual(String(decoding: try inflate(stored, size: 17), as: UTF8.self), "hello hello hello")
        let fixed: [UInt8] = [0x1F, 0x8B, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x4B, 0x4C, 0x4A, 0x4E, 0x44, 0x45, 0x8A,
                              0x00, 0x0A, 0x1D, 0xDA, 0x99, 0x13, 0x00, 0x00, 0x00]
        XCTAssertEqual(String(decoding: try inflate(fixed, size: 19), as: UTF8.self), "abcabcabcabcabcabc!")
        let zlib: [UInt8] = [0x78, 0xDA, 0x2B, 0xC9, 0x48, 0x55, 0x28, 0x2C, 0xCD, 0x4C, 0xCE, 0x56, 0x48, 0x2A, 0xCA, 0x2F, 0xCF,
                             0x53, 0x48, 0xCB, 0xAF, 0x50, 0xC8, 0x2A, 0xCD, 0x2D, 0x28, 0x56, 0xC8, 0x2F, 0x4B, 0x2D, 0x52, 0x28,
                             0x01, 0x4A, 0xE7, 0x24, 0x56, 0x55, 0x2A, 0xA4, 0xE4, 0xA7, 0xEB, 0x80, 0x79, 0x68, 0x8A, 0x01, 0xFE,
                             0x64, 0x17, 0x79]
        let text = "the quick brown fox jumps over the lazy dog, the quick brown fox"
        XCTAssertEqual(String(decoding: try inflate(zlib, size: text.utf8.count), as: UTF8.self), text)
        // A declared size smaller than the data, a damaged CRC, a cut stream: errors, not traps.
        XCTAssertThrowsError(try inflate(fixed, size: 10))
        var badCRC = fixed
        badCRC[18] ^= 1
        XCTAssertThrowsError(try inflate(badCRC, size: 19))
        for cut in 0..<fixed.count { XCTAssertThrowsError(try inflate(Array(fixed.prefix(cut)), size: 19)) }
    }

    func snappy(_ bytes: [UInt8], size: Int) throws -> [UInt8] {
        try bytes.withUnsafeBufferPointer { try SnappyDecoder.decode($0, expectedSize: size, what: "test") }
    }

    func testSnappyLiteralsAndOverlappingCopies() throws {
        // Length 11; literal "ab" (tag (2-1)<<2); copy of 6 bytes 2 back (tag (6-4)<<2 | 1, offset byte 2),
        // which overlaps its own output ("abababab"); copy of 3 bytes from 3 back with a 2-byte offset
        // (tag (3-1)<<2 | 2): "bab".
        let block: [UInt8] = [11, 0x04, 0x61, 0x62, 0x09, 0x02, 0x0A, 0x03, 0x00]
        XCTAssertEqual(String(decoding: try snappy(block, size: 11), as: UTF8.self), "abababab" + "bab")
        XCTAssertThrowsError(try snappy(block, size: 12))                       // declared size differs
        XCTAssertThrowsError(try snappy([11, 0x04, 0x61, 0x62, 0x09, 0x03], size: 11))   // copy before the start
        XCTAssertThrowsError(try snappy([3, 0x08, 0x61], size: 3))               // literal past the end
        XCTAssertThrowsError(try snappy([200, 0x01, 0x00, 0xFE, 0x01], size: 200))   // copy to "expand" with nothing behind
    }

    func testZstdFrame() throws {
        // pyarrow.compress(text, codec="zstd"): raw literals, predefined sequence tables, repeat offsets.
        let frame: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD, 0x20, 0x95, 0x5D, 0x02, 0x00, 0x34, 0x04, 0x50, 0x61, 0x72, 0x71, 0x75, 0x65,
                              0x74, 0x20, 0x70, 0x61, 0x67, 0x65, 0x73, 0x20, 0x61, 0x72, 0x65, 0x20, 0x63, 0x6F, 0x6D, 0x70, 0x72,
                              0x65, 0x73, 0x73, 0x65, 0x64, 0x20, 0x6F, 0x6E, 0x65, 0x20, 0x62, 0x79, 0x20, 0x6F, 0x6E, 0x65, 0x2E,
                              0x20, 0x7A, 0x73, 0x74, 0x64, 0x3A, 0x20, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39,
                              0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x01, 0x00, 0x79, 0x86, 0xAA, 0x32]
        let text = String(repeating: "Parquet pages are compressed one by one. ", count: 3) + "zstd: 01234567890123456789"
        func zstd(_ bytes: [UInt8], size: Int) throws -> [UInt8] {
            try bytes.withUnsafeBufferPointer { try ZstdDecoder.decode($0, expectedSize: size, what: "test") }
        }
        XCTAssertEqual(String(decoding: try zstd(frame, size: text.utf8.count), as: UTF8.self), text)
        XCTAssertThrowsError(try zstd(frame, size: 100))   // declared smaller than the frame's content
        for cut in 0..<frame.count { XCTAssertThrowsError(try zstd(Array(frame.prefix(cut)), size: text.utf8.count)) }
    }

    func rle(_ bytes: [UInt8], bitWidth: Int, maxValue: UInt32, count: Int) throws -> [UInt32] {
        var out: [UInt32] = []
        try bytes.withUnsafeBufferPointer {
            try RLEBitPackedDecoder.decode($0, bitWidth: bitWidth, maxValue: maxValue, count: count, into: &out, what: "test")
        }
        return out
    }

    func testRLEAndBitPackedRuns() throws {
        // The Parquet spec's example: 0...7 bit-packed with width 3 is one group, bytes 0x88 0xC6 0xFA.
        XCTAssertEqual(try rle([0x03, 0x88, 0xC6, 0xFA], bitWidth: 3, maxValue: 7, count: 8), [0, 1, 2, 3, 4, 5, 6, 7])
        // An RLE run of five 4s, then the first three values of a bit-packed group (padding ignored).
        XCTAssertEqual(try rle([0x0A, 0x04, 0x03, 0x88, 0xC6, 0xFA], bitWidth: 3, maxValue: 7, count: 8), [4, 4, 4, 4, 4, 0, 1, 2])
        XCTAssertThrowsError(try rle([0x0A, 0x04], bitWidth: 3, maxValue: 7, count: 6))   // runs end early
        XCTAssertThrowsError(try rle([0x0A, 0x05], bitWidth: 3, maxValue: 4, count: 5))   // value above the maximum level
        XCTAssertThrowsError(try rle([0x03, 0x88], bitWidth: 3, maxValue: 7, count: 8))   // group past the end
        XCTAssertEqual(RLEBitPackedDecoder.bitWidth(0), 0)
        XCTAssertEqual(RLEBitPackedDecoder.bitWidth(1), 1)
        XCTAssertEqual(RLEBitPackedDecoder.bitWidth(4), 3)
    }

    func testThriftSkipsNestedValuesAndRejectsDeepNesting() throws {
        // struct { 1: i32 = -3, 2: list<binary> ["ab"], 3: struct { 1: bool true } } then stop.
        let bytes: [UInt8] = [0x15, 0x05, 0x19, 0x18, 0x02, 0x61, 0x62, 0x1C, 0x11, 0x00, 0x00]
        var r = ThriftCompactReader(bytes, from: 0, to: bytes.count, what: "test")
        var seen: [Int16] = []
        try r.readStruct { r, id, type in
            seen.append(id)
            if id == 1 { XCTAssertEqual(try r.i32(), -3) } else { try r.skip(type) }
        }
        XCTAssertEqual(seen, [1, 2, 3])
        XCTAssertEqual(r.position, bytes.count)
        // 40 nested structs: refused at depth 32.
        let deep = [UInt8](repeating: 0x1C, count: 40) + [UInt8](repeating: 0, count: 41)
        var d = ThriftCompactReader(deep, from: 0, to: deep.count, what: "test")
        XCTAssertThrowsError(try d.readStruct { r, _, type in try r.skip(type) })
    }
}
