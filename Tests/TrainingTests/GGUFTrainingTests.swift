import Foundation
import Llama
import TestSupport
@testable import Training
import XCTest

/// LoRA training with a GGUF file as the base model (`"model": "x.gguf"`).
final class GGUFTrainingTests: XCTestCase {
    func testTrainsAndResumesOnTheSmolLM2GGUF() throws {
        let dir = scratchDirectory(self, "gguf")
        let model = try SharedFixtures.path("assets/smollm2-135m-instruct-q4_1/SmolLM2-135M-Instruct.Q4_1.gguf").path
        let sample = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("datasets/no_robots_sample/train.jsonl").path
        let lines = try String(contentsOfFile: sample, encoding: .utf8).split(separator: "\n").prefix(4)
        try (lines.joined(separator: "\n") + "\n").write(toFile: dir + "/train.jsonl", atomically: true, encoding: .utf8)
        func recipe(steps: Int) throws -> Recipe {
            try makeRecipe([
                "model": model, "output_dir": dir + "/out",
                "data": ["train": dir + "/train.jsonl", "max_seq_len": 48, "shuffle": false],
                "lora": ["rank": 4, "alpha": 8], "optimizer": ["lr": 1e-3],
                "train": ["max_steps": steps, "batch_size": 2, "seed": 3],
                "checkpoint": ["every_steps": 1],
            ], in: dir)
        }
        let first = try recipe(steps: 2)
        XCTAssertEqual(first.data.template, .chatml, "the GGUF's chat template (ChatML) is chosen when the recipe names none")
        let summary = try Trainer(recipe: first, options: quietOptions()).run()
        XCTAssertEqual(summary.steps, 2)
        let loss = try XCTUnwrap(summary.finalLoss)
        XCTAssertTrue(loss.isFinite && loss > 0 && loss < 10, "loss \(loss)")
        XCTAssertNotNil(summary.adapterDir)
        // Resuming checks the base model's fingerprint (here the GGUF header and tensor prefixes) and continues.
        let resumed = try Trainer(recipe: try recipe(steps: 3), options: quietOptions()).run()
        XCTAssertEqual(resumed.steps, 3)
    }
}
