import Foundation
import Llama
import SafeTensors
import Training
import XCTest

/// Three optimizer steps through the real `train` path reproduce torch + PEFT (adamw.* goldens).
final class GoldenTrainingTests: XCTestCase {
    func recipe(fixture: String, dir: String, data: String) throws -> [String: Any] {
        let golden = try goldenDir(fixture)
        let adam = try jsonObject(golden + "/adamw.json")
        let adapter = try jsonObject(golden + "/adapter/adapter_config.json")
        return [
            "model": golden,
            "data": ["train": data, "format": "tokenized", "shuffle": false, "max_seq_len": 4096],
            "lora": ["rank": adapter["r"]!, "alpha": adapter["lora_alpha"]!, "init_from": golden + "/adapter",
                     "targets": adapter["target_modules"]!],
            "optimizer": ["lr": adam["lr"]!, "betas": adam["betas"]!, "eps": adam["eps"]!,
                          "weight_decay": adam["weight_decay"]!, "max_grad_norm": adam["max_grad_norm"]!],
            "schedule": ["type": "constant"],
            "train": ["batch_size": 2, "max_steps": (adam["steps"] as! [Any]).count, "seed": 1, "threads": 1],
            "checkpoint": ["every_steps": 0],
            "output_dir": dir + "/out",
        ]
    }

    func testThreeStepsReproduceTorch() throws {
        for fixture in ["tiny-llama3", "tiny-llama32"] {
            let dir = scratchDirectory(self, fixture)
            let data = try tokenizedDataset(fixture: fixture, in: dir)
            let r = try makeRecipe(try recipe(fixture: fixture, dir: dir, data: data), in: dir)
            let trainer = try Trainer(recipe: r, options: quietOptions())
            _ = try trainer.run()

            let golden = try goldenDir(fixture)
            let adam = try jsonObject(golden + "/adamw.json")
            let steps = adam["steps"] as! [[String: Any]]
            let expected = try SafeTensorsFile(path: golden + "/adamw.safetensors")
            for (name, v) in trainer.adapters.namedParameters {
                let err = maxRelativeError(v.value.array, try expected.float32Array("step\(steps.count).\(name)"))
                XCTAssertLessThanOrEqual(err, 1e-4, "\(fixture) \(name)")
            }
            // Losses and grad norms of every step, from metrics.jsonl.
            let lines = try String(contentsOfFile: r.outputDir + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
            let metrics = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }.filter { $0["loss"] != nil }
            XCTAssertEqual(metrics.count, steps.count)
            for (m, s) in zip(metrics, steps) {
                XCTAssertEqual(m["loss"] as! Double, s["loss"] as! Double, accuracy: 1e-5 * (s["loss"] as! Double), "\(fixture) step \(s["step"]!) loss")
                XCTAssertEqual(m["grad_norm"] as! Double, s["grad_norm"] as! Double, accuracy: 1e-4 * (s["grad_norm"] as! Double), "\(fixture) step \(s["step"]!) grad_norm")
            }
            // The final adapter is a PEFT dir that loads back to the same tensors.
            let (reloaded, _) = try PEFTAdapter.load(directory: r.outputDir + "/adapter", model: trainer.model.config)
            XCTAssertEqual(reloaded.namedParameters.map { $0.variable.value.array }, trainer.adapters.namedParameters.map { $0.variable.value.array })
        }
    }

    /// grad_accum k with batch 1 gives the same update as batch k (loss = Σ NLL / Σ tokens over the step).
    func testGradientAccumulationEqualsLargeBatch() throws {
        let fixture = "tiny-llama32"
        func run(batch: Int, accum: Int) throws -> [[Float]] {
            let dir = scratchDirectory(self, "ga")
            let data = try tokenizedDataset(fixture: fixture, in: dir, copies: 2)  // 4 sequences of different lengths
            var obj = try recipe(fixture: fixture, dir: dir, data: data)
            obj["train"] = ["batch_size": batch, "grad_accum": accum, "max_steps": 1, "seed": 1, "threads": 1]
            let trainer = try Trainer(recipe: try makeRecipe(obj, in: dir), options: quietOptions())
            _ = try trainer.run()
            return trainer.adapters.namedParameters.map { $0.variable.value.array }
        }
        let big = try run(batch: 4, accum: 1)
        let accumulated = try run(batch: 1, accum: 4)
        for (i, (a, b)) in zip(accumulated, big).enumerated() {
            XCTAssertLessThanOrEqual(maxRelativeError(a, b), 1e-5, "tensor \(i)")
        }
        // The step really moved the adapter (the comparison above is not between two untouched copies).
        let config = try LlamaConfig.load(path: try goldenDir(fixture))
        let initial = try PEFTAdapter.load(directory: try goldenDir(fixture) + "/adapter", model: config).0
        XCTAssertNotEqual(initial.namedParameters.map { $0.variable.value.array }, big)
    }
}
