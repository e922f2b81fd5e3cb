import Foundation
import XCTest
@testable import ChatData
import Seeds

/// Damaged and hostile Parquet files give a ``ChatDataError`` that says where and what, never a trap.
final class ParquetHostileTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("parquet-hostile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func fixtureBytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: ParquetFixtureTests.fixture(name))))
    }

    func write(_ bytes: [UInt8], _ name: String = "x.parquet") throws -> String {
        let url = directory.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    /// Reads `bytes` as a Parquet dataset and returns the error message; fails when reading succeeds or
    /// throws anything but a Parquet error.
    func parquetError(_ bytes: [UInt8], limits: ParquetLimits = ParquetLimits(),
                      file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let path = try write(bytes)
        do {
            _ = try ParquetDatasetReader.read(path: path, format: .auto, onInvalid: .skip, vocabularySize: nil, limits: limits)
        } catch let error as ChatDataError {
            guard case .parquet = error else {
                XCTFail("not a Parquet error: \(error)", file: file, line: line)
                return ""
            }
            let message = error.localizedDescription
            XCTAssertTrue(message.hasPrefix(path + ": "), message, file: file, line: line)
            return message
        }
        XCTFail("reading succeeded", file: file, line: line)
        return ""
    }

    func assertContains(_ message: String, _ parts: String..., file: StaticString = #filePath, line: UInt = #line) {
        for part in parts { XCTAssertTrue(message.contains(part), "\(message)\n  lacks: \(part)", file: file, line: line) }
    }

    // MARK: footer

    func testTruncatedFilesAndFooters() throws {
        let good = try fixtureBytes("no_robots_none_v1_plain.parquet")
        assertContains(try parquetError(Array(good.prefix(8))), "file footer", "fewer than the 12")
        assertContains(try parquetError(Array(good.dropLast(3))), "file footer", "PAR1")
        // The tail kept but bytes cut from the middle: the footer length now points before the file.
        assertContains(try parquetError(Array(good.prefix(40)) + Array(good.suffix(8))), "footer claims")
        // Every prefix with the magic tail put back: an error each time, never a trap.
        for cut in stride(from: 12, to: good.count - 8, by: 37) {
            let message = try parquetError(Array(good.prefix(cut)) + Array(good.suffix(8)))
            XCTAssertFalse(message.isEmpty)
        }
    }

    func testFooterLengthPastTheEnd() throws {
        var bytes = try fixtureBytes("no_robots_snappy_v1_dict.parquet")
        let n = bytes.count
        let huge = UInt32(n)   // more than the bytes between the two magic numbers
        for i in 0..<4 { bytes[n - 8 + i] = UInt8(truncatingIfNeeded: huge >> (8 * UInt32(i))) }
        assertContains(try parquetError(bytes), "file footer", "footer claims \(n) bytes")
    }

    func testBadThriftInTheFooter() throws {
        let good = try fixtureBytes("no_robots_snappy_v1_dict.parquet")
        let footerLength = Int(good[good.count - 8]) | Int(good[good.count - 7]) << 8 | Int(good[good.count - 6]) << 16
        let footerStart = good.count - 8 - footerLength
        // A field header of reserved type 13 at the footer's first byte.
        var bytes = good
        bytes[footerStart] = 0x1D
        assertContains(try parquetError(bytes), "file footer", "bad Thrift data at byte 1", "unknown type id 13")
        // A list that claims more elements than bytes left: varint 0x7FFFFFFF as the schema size.
        bytes = good
        bytes.replaceSubrange((footerStart + 2)..<(footerStart + 3), with: [0xFC, 0xFF, 0xFF, 0xFF, 0x07])
        let newLength = footerLength + 4
        for i in 0..<4 { bytes[bytes.count - 8 + i] = UInt8(truncatingIfNeeded: newLength >> (8 * i)) }
        assertContains(try parquetError(bytes), "file footer", "bad Thrift data")
        // The footer cut short (its length field adjusted).
        let half = footerLength / 2
        bytes = Array(good[..<(footerStart + half)])
        bytes += [UInt8(half & 0xFF), UInt8(half >> 8), 0, 0] + Array("PAR1".utf8)
        assertContains(try parquetError(bytes), "file footer", "bad Thrift data", "ends early")
    }

    // MARK: pages

    /// Byte offsets of the first page header of column `column` in row group 0, and of its three leading
    /// i32 fields (type, uncompressed size, compressed size) as (start, length) of their varints.
    func firstPageHeader(_ bytes: [UInt8], column: Int) throws -> (header: Int, fields: [(start: Int, length: Int)]) {
        let path = try write(bytes, "probe.parquet")
        let meta = try ParquetFile(path: path).metadata.rowGroups[0].columns[column]
        var start = Int(meta.dataPageOffset)
        if let d = meta.dictionaryPageOffset, d > 0, Int(d) < start { start = Int(d) }
        var fields: [(Int, Int)] = []
        var p = start
        for _ in 0..<3 {
            XCTAssertEqual(bytes[p] & 0x0F, 5, "an i32 field header")
            p += 1
            let s = p
            while bytes[p] & 0x80 != 0 { p += 1 }
            p += 1
            fields.append((s, p - s))
        }
        return (start, fields)
    }

    /// Writes `value` as a zigzag varint padded to exactly `length` bytes (a non-minimal varint is valid).
    func patchVarint(_ bytes: inout [UInt8], at start: Int, length: Int, value: Int) {
        var u = UInt64(bitPattern: Int64(value << 1) ^ Int64(value >> 63))   // zigzag
        for i in 0..<length {
            bytes[start + i] = UInt8(u & 0x7F) | (i < length - 1 ? 0x80 : 0)
            u >>= 7
        }
        XCTAssertEqual(u, 0, "value fits")
    }

    func testWrongPageSizes() throws {
        // Compressed size past the column chunk.
        var bytes = try fixtureBytes("no_robots_none_v1_plain.parquet")
        var (_, fields) = try firstPageHeader(bytes, column: 0)
        let most = (1 << (7 * fields[2].length - 1)) - 1   // the largest size the varint's bytes can hold
        patchVarint(&bytes, at: fields[2].start, length: fields[2].length, value: most)
        assertContains(try parquetError(bytes), "row group 0, column \"prompt\", page 0", "claims \(most) bytes but the column chunk has")
        // Uncompressed size that disagrees with an uncompressed page.
        bytes = try fixtureBytes("no_robots_none_v1_plain.parquet")
        patchVarint(&bytes, at: fields[1].start, length: fields[1].length, value: 3)
        assertContains(try parquetError(bytes), "column \"prompt\"", "declares 3")
        // A Snappy page whose header disagrees with the block's own length.
        bytes = try fixtureBytes("no_robots_snappy_v1_dict.parquet")
        (_, fields) = try firstPageHeader(bytes, column: 2)
        patchVarint(&bytes, at: fields[1].start, length: fields[1].length, value: 5)
        assertContains(try parquetError(bytes), "column \"messages.list.element.content\"", "bad Snappy data", "page header says 5")
        // A negative size.
        bytes = try fixtureBytes("no_robots_snappy_v1_dict.parquet")
        patchVarint(&bytes, at: fields[2].start, length: fields[2].length, value: -1)
        assertContains(try parquetError(bytes), "claims -1 bytes")
    }

    func testStringLengthPastThePage() throws {
        var bytes = try fixtureBytes("no_robots_none_v1_plain.parquet")
        let (header, fields) = try firstPageHeader(bytes, column: 0)
        // Find where the page body starts by decoding the header, then skip the definition levels.
        var thrift = ThriftCompactReader(bytes, from: header, to: bytes.count, what: "probe")
        _ = try ParquetPageHeader.decode(&thrift)
        let body = thrift.position
        XCTAssertGreaterThan(fields.count, 0)
        let levels = Int(bytes[body]) | Int(bytes[body + 1]) << 8
        let firstString = body + 4 + levels
        for (i, b) in [UInt8(0xF0), 0xFF, 0xFF, 0x0F].enumerated() { bytes[firstString + i] = b }
        assertContains(try parquetError(bytes), "column \"prompt\", page 0", "runs past the page")
    }

    func testDecompressionBomb() throws {
        // One GZIP page that inflates to 4 MiB: declared as 1 MiB it is stopped at 1 MiB.
        var bytes = try fixtureBytes("bomb_gzip.parquet")
        let (_, fields) = try firstPageHeader(bytes, column: 0)
        patchVarint(&bytes, at: fields[1].start, length: fields[1].length, value: 1 << 20)
        assertContains(try parquetError(bytes), "column \"prompt\"", "bad GZIP data", "expands past the page header's declared size")
        // As written, it declares its true size, which a reader with a smaller cap refuses before inflating.
        var small = ParquetLimits()
        small.maxPageBytes = 1 << 20
        assertContains(try parquetError(try fixtureBytes("bomb_gzip.parquet"), limits: small),
                       "declares", "more than the 1048576 this reader accepts")
        // With the default cap it reads, and holds the whole string.
        let file = try DatasetReader.read(path: ParquetFixtureTests.fixture("bomb_gzip.parquet"))
        guard case .conversation(let c) = file.records[0] else { return XCTFail("not a conversation") }
        XCTAssertEqual(c.messages[0].content.utf8.count, 4 << 20)
    }

    /// Random byte changes anywhere in the file: every read ends in success or a ChatDataError.
    func testRandomCorruptionNeverTraps() throws {
        var rng = SplitMix64(seed: 20261130)
        for name in ["no_robots_snappy_v1_dict.parquet", "no_robots_gzip_v2_plain.parquet", "no_robots_zstd_v2.parquet",
                     "tokenized_int32_bool_gzip.parquet"] {
            let good = try fixtureBytes(name)
            var errors = 0
            for _ in 0..<120 {
                var bytes = good
                for _ in 0..<(1 + Int(rng.next() % 4)) {
                    bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next())
                }
                let path = try write(bytes)
                do {
                    _ = try DatasetReader.read(path: path, onInvalid: .skip)
                } catch is ChatDataError {
                    errors += 1
                }
            }
            XCTAssertGreaterThan(errors, 0, name)
        }
    }
}
