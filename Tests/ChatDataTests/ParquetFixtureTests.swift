import Foundation
import XCTest
@testable import ChatData

/// Parquet files written by pyarrow (Fixtures/README.md says how) read exactly like their JSONL twins.
final class ParquetFixtureTests: XCTestCase {
    static func fixture(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)").path
    }

    let fake = FakeTokenizer()

    func prepare(_ path: String, format: DatasetFormat = .auto) throws -> PreparedData {
        try DataPipeline.prepare(DataOptions(train: path, format: format, template: .llama3, maxSeqLen: 4096,
                                             onInvalid: .skip), tokenizer: fake)
    }

    /// `llama-sft data --dump` of the Parquet file equals the dump of its JSONL twin, and so do the counts.
    func assertSameAsTwin(_ name: String, records: Int, valid: Int, format: DatasetFormat,
                          file: StaticString = #filePath, line: UInt = #line) throws {
        let parquet = try prepare(Self.fixture(name + ".parquet"))
        let jsonl = try prepare(Self.fixture(name + ".jsonl"))
        XCTAssertEqual(parquet.train.map(DataReport.dumpLine), jsonl.train.map(DataReport.dumpLine), name, file: file, line: line)
        XCTAssertEqual(parquet.stats.records, records, name, file: file, line: line)
        XCTAssertEqual(parquet.stats.valid, valid, name, file: file, line: line)
        XCTAssertEqual(parquet.stats.files.map(\.format), [format], name, file: file, line: line)
        XCTAssertEqual(parquet.stats.records, jsonl.stats.records, name, file: file, line: line)
        XCTAssertEqual(parquet.stats.skipped, jsonl.stats.skipped, name, file: file, line: line)
        XCTAssertEqual(parquet.train.map(\.category), jsonl.train.map(\.category), name, file: file, line: line)
        // The dump files themselves, byte for byte.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("parquet-dump-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try DataReport.writeDump(parquet.train, to: dir.appendingPathComponent("p").path)
        try DataReport.writeDump(jsonl.train, to: dir.appendingPathComponent("j").path)
        XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent("p")), try Data(contentsOf: dir.appendingPathComponent("j")),
                       name, file: file, line: line)
    }

    func testNoRobotsFixturesEqualTheirJSONLTwins() throws {
        // 18 rows: 12 conversations, one with null metadata, and 5 invalid ones (empty list, null list,
        // null element, null content, null role), skipped for the same reasons as in JSON.
        for name in ["no_robots_snappy_v1_dict", "no_robots_gzip_v2_plain", "no_robots_none_v2_dict", "no_robots_none_v1_plain",
                     "no_robots_zstd_v2"] {
            try assertSameAsTwin(name, records: 18, valid: 13, format: .messages)
            let stats = try prepare(Self.fixture(name + ".parquet")).stats
            XCTAssertEqual(stats.skipped, [.noAssistant: 1, .missingField: 1, .notAnObject: 1, .nonStringContent: 1,
                                           .unknownRole: 1], name)
        }
    }

    func testOtherFormatsEqualTheirJSONLTwins() throws {
        try assertSameAsTwin("tokenized_int64_snappy", records: 9, valid: 8, format: .tokenized)
        try assertSameAsTwin("tokenized_int32_bool_gzip", records: 9, valid: 9, format: .tokenized)
        try assertSameAsTwin("sharegpt_snappy", records: 6, valid: 6, format: .sharegpt)
        try assertSameAsTwin("prompt_completion_gzip", records: 14, valid: 14, format: .promptCompletion)
    }

    func testRecordsKeepMetadataAndNameRowAndRowGroup() throws {
        let file = try DatasetReader.read(path: Self.fixture("no_robots_snappy_v1_dict.parquet"), onInvalid: .skip)
        XCTAssertEqual(file.recordCount, 18)
        guard case .conversation(let first) = file.records[0] else { return XCTFail("not a conversation") }
        XCTAssertEqual(Set(first.metadata.keys), ["prompt", "prompt_id", "category"])
        XCTAssertEqual(first.source.rowGroup, 0)
        guard case .conversation(let nullMetadata) = file.records[3] else { return XCTFail("not a conversation") }
        XCTAssertEqual(nullMetadata.metadata, [:])
        XCTAssertEqual(nullMetadata.messages.map(\.content), ["Hi there", "Hello! How can I help?"])
        // Row 6 (the empty list) sits in the second row group of 5 rows.
        XCTAssertThrowsError(try DatasetReader.read(path: Self.fixture("no_robots_snappy_v1_dict.parquet"))) { error in
            guard case let .invalidRecord(source, reason, _)? = error as? ChatDataError else { return XCTFail("\(error)") }
            XCTAssertEqual(source.record, 6)
            XCTAssertEqual(source.rowGroup, 1)
            XCTAssertEqual(reason, .noAssistant)
            XCTAssertTrue(error.localizedDescription.contains("no_robots_snappy_v1_dict.parquet: row 6 (row group 1): "),
                          error.localizedDescription)
        }
    }

    func testExplicitFormatJudgesRowsByThatFormat() throws {
        XCTAssertEqual(try prepare(Self.fixture("no_robots_none_v2_dict.parquet"), format: .messages).stats.valid, 13)
        // no_robots rows read as prompt_completion: no row has "completion", so all are skipped.
        XCTAssertThrowsError(try prepare(Self.fixture("no_robots_none_v2_dict.parquet"), format: .promptCompletion)) { error in
            guard case .noExamples(_, let detail)? = error as? ChatDataError else { return XCTFail("\(error)") }
            XCTAssertTrue(detail.contains("18 records, 0 valid, 18 skipped"), detail)
        }
        XCTAssertThrowsError(try DatasetReader.read(path: Self.fixture("tokenized_int32_bool_gzip.parquet"), format: .messages)) { error in
            guard case .invalidRecord(let source, .missingField, _)? = error as? ChatDataError else { return XCTFail("\(error)") }
            XCTAssertEqual(source.record, 0)
        }
    }

    /// The fixtures reach the paths they are meant to: several data pages in one column chunk, v1 and v2.
    func testFixturesHoldSeveralPagesPerChunk() throws {
        for name in ["no_robots_gzip_v2_plain", "no_robots_snappy_v1_dict"] {
            let file = try ParquetFile(path: Self.fixture(name + ".parquet"))
            let group = file.metadata.rowGroups[0]
            guard case .list(_, _, _, let element)? = try file.fields(wanted: ["messages"]).first(where: { $0.name == "messages" })?.shape,
                  let content = element.leaves.first else { return XCTFail("no messages list in \(name)") }
            let meta = group.columns[content.column]
            XCTAssertEqual(meta.path, ["messages", "list", "element", "content"])
            let chunkStart = Int(min(meta.dataPageOffset, meta.dictionaryPageOffset ?? meta.dataPageOffset))
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.fixture(name + ".parquet"))))
            let chunk = Array(bytes[chunkStart..<(chunkStart + Int(meta.totalCompressedSize))])
            let column = try ParquetColumnReader(leaf: content, meta: meta, limits: ParquetLimits(), what: "content").read(chunk)
            if name.contains("gzip") {
                XCTAssertGreaterThan(column.dataPages, 1, name)
            }
            XCTAssertGreaterThan(column.strings.count, 0, name)
        }
    }

    func testUnsupportedCodecNamesItAndHowToResave() throws {
        XCTAssertThrowsError(try DatasetReader.read(path: Self.fixture("no_robots_brotli.parquet"))) { error in
            let message = error.localizedDescription
            XCTAssertTrue(message.contains("BROTLI codec is not supported"), message)
            XCTAssertTrue(message.contains("compression=\"snappy\""), message)
            XCTAssertTrue(message.contains("row group 0, column \""), message)
        }
    }

    func testDirectoryAndGlobReadShardsInNameOrder() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("parquet-shards-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        // Shards named so that byte order differs from creation order.
        let shards = ["train-00001-of-00002.parquet": "no_robots_none_v2_dict.parquet",
                      "train-00000-of-00002.parquet": "tokenized_int64_snappy.parquet",
                      "test-00000-of-00001.parquet": "sharegpt_snappy.parquet"]
        for (name, source) in shards {
            try FileManager.default.copyItem(atPath: Self.fixture(source), toPath: dir.appendingPathComponent(name).path)
        }
        try Data("not data".utf8).write(to: dir.appendingPathComponent("README.md"))
        let glob = try DatasetPaths.expand(dir.appendingPathComponent("train-*.parquet").path)
        XCTAssertEqual(glob.map { URL(fileURLWithPath: $0).lastPathComponent },
                       ["train-00000-of-00002.parquet", "train-00001-of-00002.parquet"])
        let all = try DatasetPaths.expand(dir.path)
        XCTAssertEqual(all.map { URL(fileURLWithPath: $0).lastPathComponent },
                       ["test-00000-of-00001.parquet", "train-00000-of-00002.parquet", "train-00001-of-00002.parquet"])
        // Formats are detected per file; the pipeline reports every file with its row count.
        let prepared = try prepare(dir.appendingPathComponent("train-*.parquet").path)
        XCTAssertEqual(prepared.stats.files.map(\.records), [9, 18])
        XCTAssertEqual(prepared.stats.files.map(\.format), [.tokenized, .messages])
        XCTAssertEqual(prepared.train.count, 8 + 13)
        let text = DataReport.statsText(prepared.stats)
        XCTAssertTrue(text.contains("train-00000-of-00002.parquet: tokenized, 9 records"), text)
        XCTAssertThrowsError(try DatasetPaths.expand(dir.appendingPathComponent("valid-*.parquet").path)) { error in
            XCTAssertTrue(error.localizedDescription.contains("matches valid-*.parquet"), error.localizedDescription)
        }
    }
}
