import Export
import Foundation
import Llama
import SafeTensors
import XCTest

/// A merged fp32 export equals PEFT's `merge_and_unload()` output (golden `merged/`) and its logits.
final class MergedExportGoldenTests: XCTestCase {
    func testMergedTensorsEqualPEFTMergeAndUnload() throws {
        for name in exportFixtureNames {
            let f = try ExportFixture(name)
            let out = try scratchDirectory(self) + "/merged"
            let report = try Exporter.export(ExportOptions(source: f.adapter, output: out, baseModel: f.dir))

            let written = try SafeTensorsFile(path: out + "/model.safetensors")
            let golden = try f.file("merged/model.safetensors")
            XCTAssertEqual(Set(written.names), Set(golden.names), "\(name): tensor names")
            if try f.config.tieWordEmbeddings {
                XCTAssertNil(written.info("lm_head.weight"), "\(name): a tied model must not get lm_head.weight")
            } else {
                XCTAssertNotNil(written.info("lm_head.weight"), "\(name): untied model keeps lm_head.weight")
            }
            for info in golden.infos {
                let mine = try XCTUnwrap(written.info(info.name), "\(name): \(info.name) missing")
                XCTAssertEqual(mine.dtype, .f32, "\(name) \(info.name): an F32 base exports F32 under --dtype auto")
                XCTAssertEqual(mine.shape, info.shape, "\(name) \(info.name) shape")
                let err = scaledMaxError(try written.float32Array(info.name), try golden.float32Array(info.name), floor: 0)
                XCTAssertLessThanOrEqual(err, 1e-6, "\(name) \(info.name): max|Δ|/max|ref| = \(err)")
            }
            XCTAssertEqual(written.metadata, ["format": "pt"])
            let targets = try PEFTAdapter.load(directory: f.adapter, model: try f.config).0.config.targets
            XCTAssertEqual(report.mergedTensorCount, targets.count * (try f.config.numLayers), "\(name): every adapted projection is merged")
            XCTAssertEqual(report.lostEntries, 0, "\(name): fp32 keeps every update of this adapter")
            XCTAssertTrue(report.check?.passed ?? false, "\(name): built-in check")
            XCTAssertEqual(report.shardCount, 1)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/model.safetensors.index.json"), "one shard has no index")
        }
    }

    func testMergedDirectoryLogitsEqualGoldenMergedLogits() throws {
        for name in exportFixtureNames {
            let f = try ExportFixture(name)
            let out = try scratchDirectory(self) + "/merged"
            _ = try Exporter.export(ExportOptions(source: f.adapter, output: out, baseModel: f.dir))
            let model = try LlamaModel.load(directory: out)
            XCTAssertNil(model.adapters)
            let expected = try f.file("expected.safetensors")
            for (i, seq) in f.sequences.enumerated() {
                let err = scaledMaxError(logits(model, seq), try expected.float32Array("merged_logits.\(i)"))
                XCTAssertLessThanOrEqual(err, 1e-5, "\(name) merged_logits.\(i): scaled error \(err)")
            }
        }
    }

    func testExportedMergedModelDiffersFromBase() throws {
        // The "adapter applied" rule (docs/formats.md, Export), independently of the built-in check.
        let f = try ExportFixture("tiny-llama3")
        let out = try scratchDirectory(self) + "/merged"
        _ = try Exporter.export(ExportOptions(source: f.adapter, output: out, baseModel: f.dir))
        let merged = logits(try LlamaModel.load(directory: out), f.sequences[0])
        let base = try f.file("expected.safetensors").float32Array("logits.0")
        XCTAssertGreaterThan(scaledMaxError(merged, base), 1e-2)
    }
}
