import Foundation
import Llama
import Training
import XCTest

/// The recipes, sample data and tiny base model that ship in the repository work together.
final class ShippedFilesTests: XCTestCase {
    /// The repository root, from this file's location.
    var root: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    func testEveryShippedRecipeParses() throws {
        let dir = root + "/recipes"
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".json") }
        XCTAssertTrue(files.contains("quickstart.json"))
        XCTAssertGreaterThanOrEqual(files.count, 5)
        for f in files { XCTAssertNoThrow(try Recipe.load(path: dir + "/" + f, baseDirectory: root), f) }
    }

    func testQuickstartTrainsAndEvalLossFalls() throws {
        let out = scratchDirectory(self, "quickstart")
        var recipe = try Recipe.load(path: root + "/recipes/quickstart.json", baseDirectory: root)
        recipe.outputDir = out
        recipe.train.maxSteps = 12
        recipe.eval.everySteps = 0
        recipe.eval.maxBatches = 4
        recipe.checkpoint.everySteps = 0
        let trainer = try Trainer(recipe: recipe, options: quietOptions())
        let before = try XCTUnwrap(trainer.evaluate())
        let summary = try trainer.run()
        XCTAssertEqual(summary.steps, 12)
        let after = try XCTUnwrap(summary.evalLoss)
        XCTAssertLessThan(after, before, "eval loss should fall on the quickstart data")
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/adapter/adapter_model.safetensors"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/loss.svg"))
    }

    func testInitModelReproducesTheCommittedTinyBase() throws {
        let out = scratchDirectory(self, "tiny-base")
        try TinyModel.create(TinyModel.Options(data: root + "/datasets/no_robots_sample/train.jsonl", output: out)) { _ in }
        for file in ["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors"] {
            let made = FileManager.default.contents(atPath: out + "/" + file)
            let committed = FileManager.default.contents(atPath: root + "/checkpoints/tiny-base/" + file)
            XCTAssertNotNil(committed, file)
            XCTAssertEqual(made, committed, "\(file) differs from checkpoints/tiny-base/\(file): re-run `llama-sft init-model`")
        }
    }
}
