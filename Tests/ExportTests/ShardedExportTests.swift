import Export
import Foundation
import Llama
import SafeTensors
import XCTest

/// A small `--max-shard-size` gives Hugging Face shards + index that load back to the same model.
final class ShardedExportTests: XCTestCase {
    func testSmallShardSizeWritesShardsAndIndexThatLoadIdentically() throws {
        for name in exportFixtureNames {
            let f = try ExportFixture(name)
            let scratch = try scratchDirectory(self)
            let single = scratch + "/single", sharded = scratch + "/sharded"
            let whole = try Exporter.export(ExportOptions(source: f.adapter, output: single, baseModel: f.dir))
            // A fifth of the model: several shards; the embedding (and lm_head) may exceed it and get their own.
            let limit = whole.weightBytes / 5
            let report = try Exporter.export(ExportOptions(source: f.adapter, output: sharded, maxShardBytes: limit, baseModel: f.dir))
            XCTAssertGreaterThan(report.shardCount, 2, "\(name)")

            let fm = FileManager.default
            XCTAssertFalse(fm.fileExists(atPath: sharded + "/model.safetensors"))
            let index = try readJSONObject(sharded + "/model.safetensors.index.json")
            let weightMap = try XCTUnwrap(index["weight_map"] as? [String: String])
            let shardNames = Set(weightMap.values)
            XCTAssertEqual(shardNames.count, report.shardCount)
            for shard in shardNames {
                XCTAssertTrue(shard.hasSuffix("-of-\(String(format: "%05d", report.shardCount)).safetensors"), shard)
                XCTAssertTrue(fm.fileExists(atPath: sharded + "/" + shard), shard)
            }

            // Every tensor of the single-file export is in exactly one shard, with the same bytes.
            let reference = try SafeTensorsFile(path: single + "/model.safetensors")
            XCTAssertEqual(Set(weightMap.keys), Set(reference.names), "\(name): weight_map covers every tensor")
            var total = 0
            for info in reference.infos {
                let shard = try SafeTensorsFile(path: sharded + "/" + weightMap[info.name]!)
                XCTAssertEqual(Array(try shard.rawBytes(info.name)), Array(try reference.rawBytes(info.name)), "\(name) \(info.name)")
                total += info.byteCount
            }
            let metadata = try XCTUnwrap(index["metadata"] as? [String: Any])
            XCTAssertEqual((metadata["total_size"] as? NSNumber)?.intValue, total, "total_size = sum of tensor bytes")
            // No shard over the limit unless it holds a single oversized tensor.
            for shard in shardNames {
                let file = try SafeTensorsFile(path: sharded + "/" + shard)
                let bytes = file.infos.reduce(0) { $0 + $1.byteCount }
                XCTAssertTrue(bytes <= limit || file.infos.count == 1, "\(shard): \(bytes) bytes in \(file.infos.count) tensors")
            }
            // HF state-dict order decides the shards: walking it, the shard number never decreases (tensors
            // over the limit excepted: huggingface_hub gives them a shard of their own, placed at once).
            let config = try f.config
            var order = ["model.embed_tokens.weight"]
            for l in 0..<config.numLayers {
                order += ["q_proj", "k_proj", "v_proj", "o_proj"].map { "model.layers.\(l).self_attn.\($0).weight" }
                order += ["gate_proj", "up_proj", "down_proj"].map { "model.layers.\(l).mlp.\($0).weight" }
                order += ["input_layernorm", "post_attention_layernorm"].map { "model.layers.\(l).\($0).weight" }
            }
            order += ["model.norm.weight"] + (config.tieWordEmbeddings ? [] : ["lm_head.weight"])
            XCTAssertEqual(Set(order), Set(weightMap.keys))
            let shardNumbers = order.filter { reference.info($0)!.byteCount <= limit }.map { weightMap[$0]! }
            XCTAssertEqual(shardNumbers, shardNumbers.sorted(), "\(name): shards follow the HF state-dict order")
            XCTAssertEqual(weightMap["model.embed_tokens.weight"], "model-00001-of-\(String(format: "%05d", report.shardCount)).safetensors")

            let a = try LlamaModel.load(directory: single), b = try LlamaModel.load(directory: sharded)
            for seq in f.sequences {
                XCTAssertEqual(logits(a, seq), logits(b, seq), "\(name): sharded and single-file logits must be identical")
            }
        }
    }
}
