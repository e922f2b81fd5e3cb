@testable import Export
import Foundation
import Llama
import SafeTensors
import XCTest

/// The built-in post-export check must be able to fail.
final class MergeCheckTests: XCTestCase {
    func testCheckFailsWhenTheMergedModelIsNotBasePlusAdapter() throws {
        let f = try ExportFixture("tiny-llama3")
        let out = try scratchDirectory(self) + "/merged"
        _ = try Exporter.export(ExportOptions(source: f.adapter, output: out, baseModel: f.dir))
        // The rsLoRA adapter has the same A and B but twice the scale: not what was merged.
        let (other, _) = try PEFTAdapter.load(directory: f.dir + "/adapter-rslora", model: try f.config)
        let check = try MergeCheck.run(baseDirectory: f.dir, mergedDirectory: out, adapters: other, writtenDType: .f32, weightsChanged: true)
        XCTAssertFalse(check.passed)
        XCTAssertGreaterThan(check.maxAbsDifference, check.tolerance)

        // The base model itself as the "merged" output: the adapter is missing.
        let (adapter, _) = try PEFTAdapter.load(directory: f.adapter, model: try f.config)
        let missing = try MergeCheck.run(baseDirectory: f.dir, mergedDirectory: f.dir, adapters: adapter, writtenDType: .bf16, weightsChanged: true)
        XCTAssertFalse(missing.passed, missing.summary)
        XCTAssertEqual(missing.maxAbsFromBase, 0)
    }

    func testZeroAdapterPassesWithAWarning() throws {
        let f = try ExportFixture("tiny-llama32")
        let scratch = try scratchDirectory(self)
        let config = try f.config
        let zero = LoRAAdapters.initialize(LoRAConfig(rank: 2, alpha: 4, targets: [.q, .v]), model: config, seed: 1)   // B = 0
        try PEFTAdapter.save(zero, baseModel: f.dir, to: scratch + "/zero")
        let report = try Exporter.export(ExportOptions(source: scratch + "/zero", output: scratch + "/out"))
        let check = try XCTUnwrap(report.check)
        XCTAssertTrue(check.passed)
        XCTAssertEqual(check.maxAbsDifference, 0)
        XCTAssertEqual(report.changedEntries, 0)
        XCTAssertFalse(check.warnings.isEmpty)
        // With B = 0 every tensor is the base's, byte for byte.
        let base = try f.file("model.safetensors"), written = try SafeTensorsFile(path: scratch + "/out/model.safetensors")
        for name in base.names { XCTAssertEqual(Array(try written.rawBytes(name)), Array(try base.rawBytes(name)), name) }
    }

    func testPromptIsSpreadOverTheVocabularyAndDeterministic() {
        let p = MergeCheck.prompt(vocabSize: 512)
        XCTAssertEqual(p.count, 32)
        XCTAssertEqual(p, MergeCheck.prompt(vocabSize: 512))
        XCTAssertTrue(p.allSatisfy { (0..<512).contains($0) })
        XCTAssertGreaterThan(Set(p).count, 28)
        XCTAssertGreaterThan(p.max()! - p.min()!, 400)
        XCTAssertTrue(MergeCheck.prompt(vocabSize: 128_256).allSatisfy { $0 < 128_000 }, "no Llama 3 control tokens")
    }

    func testToleranceGrowsWithCoarserDTypesAndDepth() {
        let f32 = MergeCheck.tolerance(for: .f32, layers: 16, maxAbsReference: 20)
        let f16 = MergeCheck.tolerance(for: .f16, layers: 16, maxAbsReference: 20)
        let bf16 = MergeCheck.tolerance(for: .bf16, layers: 16, maxAbsReference: 20)
        XCTAssertEqual(f32, 2e-3, accuracy: 1e-9)
        XCTAssertLessThan(f32, f16)
        XCTAssertEqual(bf16 / f16, 8, accuracy: 1e-4)
        XCTAssertLessThan(MergeCheck.tolerance(for: .bf16, layers: 2, maxAbsReference: 20), bf16)
        XCTAssertEqual(MergeCheck.tolerance(for: .f32, layers: 2, maxAbsReference: 0.5), 1e-4, "max(1, max|logit|)")
    }
}
