import Export
import Foundation
import Llama
import XCTest

/// SOURCE may be a run directory, a checkpoint or a PEFT adapter; the base comes from --base, a recipe, or
/// the adapter config.
final class SourceResolutionTests: XCTestCase {
    /// A run directory as the trainer lays it out, its adapters copied from the golden fixture.
    private func makeRun(_ f: ExportFixture, finalAdapter: Bool) throws -> String {
        let run = try scratchDirectory(self) + "/run"
        let checkpoint = run + "/checkpoints/step-000002"
        try FileManager.default.createDirectory(atPath: checkpoint, withIntermediateDirectories: true)
        let recipe = #"{"model": "\#(f.dir)", "lora": {"r": 4}}"#
        try writeText(recipe, run + "/recipe.json")
        try writeText(recipe, checkpoint + "/recipe.json")
        for file in ["adapter_config.json", "adapter_model.safetensors"] {
            try copyItem(f.adapter + "/" + file, checkpoint + "/" + file)
        }
        try writeText(#"{"global_step": 2}"#, checkpoint + "/trainer_state.json")
        try writeText("step-000002\n", run + "/checkpoints/latest")
        try writeText("""
        {"step": 1, "loss": 2.5, "lr": 0.001, "grad_norm": 1.0}
        {"step": 2, "loss": 2.25, "lr": 0.001, "grad_norm": 0.9, "eval_loss": 2.4}
        {"step": 3, "loss": 2.0, "lr": 0.001, "grad_norm": 0.8}

        """, run + "/metrics.jsonl")
        if finalAdapter { try copyItem(f.adapter, run + "/adapter") }
        return run
    }

    func testRunDirectoryPrefersTheFinalAdapterAndFindsTheBaseInTheRecipe() throws {
        let f = try ExportFixture("tiny-llama32")
        let run = try makeRun(f, finalAdapter: true)
        let source = try ExportSource.resolve(run)
        XCTAssertEqual(source.adapterDirectory, run + "/adapter")
        XCTAssertEqual(source.kind, .finalAdapter)
        XCTAssertEqual(try source.baseModelDirectory(explicit: nil), f.dir)

        let out = try scratchDirectory(self) + "/merged"
        let report = try Exporter.export(ExportOptions(source: run, output: out))
        XCTAssertEqual(report.baseModel, f.dir)
        XCTAssertEqual(report.training.trainLoss, TrainingSummary.Point(step: 3, value: 2.0))
        let card = try String(contentsOfFile: out + "/README.md", encoding: .utf8)
        XCTAssertTrue(card.contains(f.dir), card)
        let lora = try PEFTAdapter.load(directory: f.adapter, model: try f.config).0.config
        XCTAssertTrue(card.contains("LoRA: r \(lora.rank), alpha"), card)
        XCTAssertTrue(card.contains("Final training loss: 2.0000 (step 3)"), card)
        XCTAssertTrue(card.contains("Final evaluation loss: 2.4000 (step 2)"), card)
    }

    func testRunWithoutFinalAdapterUsesTheLatestCheckpoint() throws {
        let f = try ExportFixture("tiny-llama3")
        let run = try makeRun(f, finalAdapter: false)
        let source = try ExportSource.resolve(run)
        XCTAssertEqual(source.adapterDirectory, run + "/checkpoints/step-000002")
        XCTAssertEqual(source.kind, .checkpoint)
        XCTAssertEqual(source.runDirectory, run)
        // The summary stops at the checkpoint's step: step 3's loss came later.
        let summary = TrainingSummary.read(source: source)
        XCTAssertEqual(summary.step, 2)
        XCTAssertEqual(summary.trainLoss, TrainingSummary.Point(step: 2, value: 2.25))
        XCTAssertEqual(summary.evalLoss, TrainingSummary.Point(step: 2, value: 2.4))
    }

    func testCheckpointDirectoryFindsTheBaseInItsOwnRecipe() throws {
        let f = try ExportFixture("tiny-llama3")
        let run = try makeRun(f, finalAdapter: false)
        try FileManager.default.removeItem(atPath: run + "/recipe.json")
        let checkpoint = run + "/checkpoints/step-000002"
        let out = try scratchDirectory(self) + "/adapter-out"
        let report = try Exporter.export(ExportOptions(source: checkpoint, output: out, adapterOnly: true))
        XCTAssertEqual(report.baseModel, f.dir)
        XCTAssertEqual(report.source.kind, .checkpoint)
    }

    func testMissingBaseIsAClearError() throws {
        let f = try ExportFixture("tiny-llama3")
        let adapter = try scratchDirectory(self) + "/adapter"
        try copyItem(f.adapter, adapter)   // base_model_name_or_path is null, no recipe anywhere
        let out = try scratchDirectory(self) + "/merged"
        XCTAssertThrowsError(try Exporter.export(ExportOptions(source: adapter, output: out))) { error in
            guard case ExportError.baseModelNotFound = error else { return XCTFail("expected baseModelNotFound, got \(error)") }
            let message = error.localizedDescription
            XCTAssertTrue(message.contains("--base"), message)
            XCTAssertTrue(message.contains("base_model_name_or_path"), message)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    func testRecipeNamingAMissingModelIsReported() throws {
        let f = try ExportFixture("tiny-llama3")
        let run = try makeRun(f, finalAdapter: true)
        try writeText(#"{"model": "/nonexistent/model"}"#, run + "/recipe.json")
        XCTAssertThrowsError(try ExportSource.resolve(run).baseModelDirectory(explicit: nil)) { error in
            XCTAssertTrue(error.localizedDescription.contains("/nonexistent/model"), error.localizedDescription)
        }
    }

    func testAdapterConfigBasePathIsUsed() throws {
        let f = try ExportFixture("tiny-llama3")
        let adapter = try scratchDirectory(self) + "/adapter"
        try FileManager.default.createDirectory(atPath: adapter, withIntermediateDirectories: true)
        try copyItem(f.adapter + "/adapter_model.safetensors", adapter + "/adapter_model.safetensors")
        var config = try readJSONObject(f.adapter + "/adapter_config.json")
        config["base_model_name_or_path"] = f.dir
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: adapter + "/adapter_config.json"))
        XCTAssertEqual(try ExportSource.resolve(adapter).baseModelDirectory(explicit: nil), f.dir)
    }

    func testExplicitBaseThatIsNotAModelIsRefused() throws {
        let f = try ExportFixture("tiny-llama3")
        XCTAssertThrowsError(try ExportSource.resolve(f.adapter).baseModelDirectory(explicit: f.adapter)) { error in
            guard case ExportError.notAModelDirectory = error else { return XCTFail("got \(error)") }
        }
    }

    func testFolderWithoutAdapterIsNotASource() throws {
        let empty = try scratchDirectory(self)
        XCTAssertThrowsError(try ExportSource.resolve(empty)) { error in
            guard case ExportError.notASource = error else { return XCTFail("got \(error)") }
        }
    }
}
