import Foundation
import SafeTensors
import TestSupport
import XCTest

/// HF-style sharding: shard assignment, file names, the index, and reading it all back.
final class ShardingTests: XCTestCase {
    var dir: ScratchDirectory!

    override func setUpWithError() throws {
        dir = try ScratchDirectory()
    }

    override func tearDown() {
        dir = nil
    }

    func testPlanMatchesHuggingFaceExamples() {
        // huggingface_hub docstring: limit 10, sizes [6,6,2,6,2,2] → [6], [6+2], [6+2+2].
        XCTAssertEqual(ShardedWriter.planShards(byteCounts: [6, 6, 2, 6, 2, 2], maxShardBytes: 10), [[0], [1, 2], [3, 4, 5]])
        // An oversized tensor gets its own shard, appended at once, before the shard being filled.
        XCTAssertEqual(ShardedWriter.planShards(byteCounts: [2, 20, 3, 6], maxShardBytes: 10), [[1], [0, 2], [3]])
        // Exactly the limit still fits.
        XCTAssertEqual(ShardedWriter.planShards(byteCounts: [5, 5, 1], maxShardBytes: 10), [[0, 1], [2]])
        XCTAssertEqual(ShardedWriter.planShards(byteCounts: [], maxShardBytes: 10), [])
        XCTAssertEqual(ShardedWriter.shardFileName(2, of: 12), "model-00002-of-00012.safetensors")
        XCTAssertEqual(ShardedWriter.defaultMaxShardBytes, 5_000_000_000)
    }

    private func tensors() -> [(name: String, values: [Float])] {
        // 100 floats = 400 bytes each; names deliberately not in sorted order.
        ["model.layers.1.w", "model.embed_tokens.weight", "model.layers.0.w", "lm_head.weight", "model.norm.weight"]
            .enumerated().map { i, name in (name, (0..<100).map { Float(i * 1000 + $0) }) }
    }

    func testSmallLimitWritesShardsAndIndexThatLoadBack() throws {
        let input = tensors()
        let out = dir.file("export")
        let written = try ShardedWriter.write(
            input.map { TensorToWrite.float32(name: $0.name, shape: [10, 10], data: $0.values) },
            to: out, maxShardBytes: 1000)
        let names = ["model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                     "model-00003-of-00003.safetensors", "model.safetensors.index.json"]
        XCTAssertEqual(written, names.map { out + "/" + $0 })
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out).sorted(), names.sorted())

        // Walked in the given order: 400 + 400 ≤ 1000, a third would exceed it.
        let shard1 = try SafeTensorsFile(path: out + "/" + names[0])
        XCTAssertEqual(Set(shard1.names), ["model.layers.1.w", "model.embed_tokens.weight"])
        XCTAssertEqual(shard1.metadata, ["format": "pt"])
        XCTAssertEqual(try SafeTensorsFile(path: out + "/" + names[2]).names, ["model.norm.weight"])

        // The index exactly as transformers writes it (json.dumps(indent=2, sort_keys=True) + "\n").
        let index = String(decoding: try Data(contentsOf: URL(fileURLWithPath: written[3])), as: UTF8.self)
        XCTAssertEqual(index, """
            {
              "metadata": {
                "total_size": 2000
              },
              "weight_map": {
                "lm_head.weight": "model-00002-of-00003.safetensors",
                "model.embed_tokens.weight": "model-00001-of-00003.safetensors",
                "model.layers.0.w": "model-00002-of-00003.safetensors",
                "model.layers.1.w": "model-00001-of-00003.safetensors",
                "model.norm.weight": "model-00003-of-00003.safetensors"
              }
            }

            """)

        let collection = try SafeTensorsCollection(directory: out)
        XCTAssertEqual(collection.indexPath, written[3])
        XCTAssertEqual(Set(collection.names), Set(input.map(\.name)))
        for t in input {
            XCTAssertEqual(try collection.float32Array(t.name), t.values, t.name)
            XCTAssertEqual(try collection.info(t.name)?.shape, [10, 10])
        }
        XCTAssertNil(try collection.info("absent"))
        assertSafeTensorsError(try collection.float32Array("absent"), mentions: ["absent"]) {
            if case .tensorNotFound = $0 { return true } else { return false }
        }
    }

    func testEverythingFittingIsOneModelFileWithoutIndex() throws {
        let out = dir.file("single")
        let written = try ShardedWriter.write(
            tensors().map { TensorToWrite.float32(name: $0.name, shape: [100], data: $0.values) }, to: out)
        XCTAssertEqual(written, [out + "/model.safetensors"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out), ["model.safetensors"])
        XCTAssertEqual(try SafeTensorsCollection(directory: out).names.count, 5)
    }

    func testShardsOfGoldenModelRewriteLosslessly() throws {
        let source = try SafeTensorsFile(path: try SharedFixtures.path("golden/tiny-llama3/model-bf16/model.safetensors").path)
        let out = dir.file("sharded")
        let written = try ShardedWriter.write(try source.names.map { try TensorToWrite.copy($0, from: source) },
                                              to: out, maxShardBytes: 70_000)
        XCTAssertGreaterThan(written.count, 3)
        let collection = try SafeTensorsCollection(directory: out)
        XCTAssertEqual(Set(collection.names), Set(source.names))
        for name in source.names {
            XCTAssertEqual(Array(try collection.rawBytes(name)), Array(try source.rawBytes(name)), name)
            XCTAssertEqual(try collection.info(name)?.dtype, .bf16)
        }
    }

    func testIndexPointingToMissingShardNamesIt() throws {
        let out = dir.file("broken")
        try ShardedWriter.write(tensors().map { TensorToWrite.float32(name: $0.name, shape: [100], data: $0.values) },
                                to: out, maxShardBytes: 1000)
        try FileManager.default.removeItem(atPath: out + "/model-00002-of-00003.safetensors")
        assertSafeTensorsError(try SafeTensorsCollection(directory: out),
                               mentions: ["model-00002-of-00003.safetensors", "model.safetensors.index.json"]) {
            if case .missingShard(_, "model-00002-of-00003.safetensors", _) = $0 { return true } else { return false }
        }
    }

    func testIndexListingTensorAbsentFromItsShard() throws {
        let out = dir.file("lying")
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        try SafeTensorsWriter.write(float32: [("a", [1], [1])], to: out + "/model-00001-of-00001.safetensors")
        let index = #"{"metadata":{},"weight_map":{"a":"model-00001-of-00001.safetensors","b":"model-00001-of-00001.safetensors"}}"#
        try Data(index.utf8).write(to: URL(fileURLWithPath: out + "/model.safetensors.index.json"))
        let c = try SafeTensorsCollection(directory: out)
        XCTAssertEqual(c.names, ["a", "b"])
        XCTAssertEqual(try c.float32Array("a"), [1])
        assertSafeTensorsError(try c.float32Array("b"), mentions: ["'b'"]) {
            if case .tensorNotInShard(_, _, "b") = $0 { return true } else { return false }
        }
    }

    func testBadIndexes() throws {
        let cases = ["[1]", "{\"metadata\":{}}", "{\"weight_map\":[]}", "{\"weight_map\":{\"a\":1}}",
                     "{\"weight_map\":{\"a\":\"../elsewhere.safetensors\"}}", "{\"weight_map\":{\"a\":\"x\",\"a\":\"y\"}}", "{"]
        for (i, text) in cases.enumerated() {
            let out = dir.file("bad\(i)")
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            try Data(text.utf8).write(to: URL(fileURLWithPath: out + "/model.safetensors.index.json"))
            assertSafeTensorsError(try SafeTensorsCollection(directory: out), mentions: ["model.safetensors.index.json"]) {
                if case .invalidIndex = $0 { return true } else { return false }
            }
        }
    }

    func testDirectoryWithoutWeights() throws {
        assertSafeTensorsError(try SafeTensorsCollection(directory: dir.path), mentions: [dir.path]) {
            if case .noWeights = $0 { return true } else { return false }
        }
    }

    func testShardedWriterValidatesBeforeWriting() throws {
        let out = dir.file("never")
        assertSafeTensorsError(try ShardedWriter.write(
            [.float32(name: "a", shape: [1], data: [1]), .float32(name: "a", shape: [1], data: [1])], to: out, maxShardBytes: 4)) {
            if case .duplicateTensorName(_, "a") = $0 { return true } else { return false }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        assertSafeTensorsError(try ShardedWriter.write([.float32(name: "a", shape: [1], data: [1])], to: out, maxShardBytes: 0)) {
            if case .invalidMaxShardSize(_, 0) = $0 { return true } else { return false }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }
}
