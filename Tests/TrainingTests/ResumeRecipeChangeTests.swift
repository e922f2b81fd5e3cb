import Foundation
import Tensors
import Training
import XCTest

/// Resume refuses recipe changes that alter the math, naming the keys, and accepts changes of
/// checkpointing, evaluation, run length, threads and output place.
final class ResumeRecipeChangeTests: XCTestCase {
    override func tearDown() {
        StopSignals.reset()
        super.tearDown()
    }

    /// A run stopped after step 3 of 6 (`<dir>/out`), its recipe object and data file.
    func stoppedRun() throws -> (dir: String, object: [String: Any], data: String) {
        let dir = scratchDirectory(self, "changes")
        let data = try syntheticDataset(in: dir, count: 12)
        let object = try tinyRecipe(data: data, output: dir + "/out")
        let summary = try Trainer(recipe: try writeRecipe(object, to: dir + "/r.json"), options: recordingOptions(TestLog(), stopAfter: 3)).run()
        StopSignals.reset()
        XCTAssertEqual(summary.stoppedBySignal, SIGINT)
        XCTAssertEqual(Checkpoints.latest(dir + "/out"), dir + "/out/checkpoints/step-000003")
        return (dir, object, data)
    }

    func testMathChangesAreRefusedNamingTheKeys() throws {
        let (dir, base, _) = try stoppedRun()
        let cases: [([String: Any], [String])] = [
            (["lora.rank": 8], ["lora.rank"]),
            (["lora.dropout": 0.1], ["lora.dropout"]),
            (["lora.targets": ["q_proj", "v_proj"]], ["lora.targets"]),
            (["optimizer.lr": 0.02, "train.seed": 8], ["optimizer.lr", "train.seed"]),
            (["optimizer.max_grad_norm": NSNull()], ["optimizer.max_grad_norm"]),
            (["schedule.type": "linear", "schedule.warmup_steps": 0], ["schedule.type", "schedule.warmup_steps"]),
            (["train.batch_size": 1, "train.grad_accum": 2], ["train.batch_size", "train.grad_accum"]),
            (["data.packing": true, "data.max_seq_len": 48], ["data.max_seq_len", "data.packing"]),
            (["data.shuffle": false], ["data.shuffle"]),
            (["train.precision": "bf16"], ["train.precision"]),
            (["model": try goldenDir("tiny-llama3")], ["model"]),
        ]
        for (changes, keys) in cases {
            var object = base
            for (k, v) in changes { setKey(&object, k, v) }
            let recipe = try writeRecipe(object, to: dir + "/changed.json")
            XCTAssertThrowsError(try Trainer(recipe: recipe, options: quietOptions()), "\(keys)") { error in
                let text = error.localizedDescription
                XCTAssertTrue(text.contains("cannot resume from \(dir)/out/checkpoints/step-000003"), text)
                XCTAssertTrue(text.contains("these recipe keys changed since it was written: \(keys.joined(separator: ", ")). "), text)
                XCTAssertTrue(text.contains("--restart"), text)
            }
        }
    }

    /// A bf16 run records the order its bf16 products sum in (the AMX and AVX-512 kernels differ); a
    /// resume where this CPU would sum in the other order is refused, naming both.
    func testBF16SummationOrderChangeIsRefused() throws {
        let dir = scratchDirectory(self, "bf16-order")
        var object = try tinyRecipe(data: try syntheticDataset(in: dir, count: 12), output: dir + "/out")
        setKey(&object, "train.precision", "bf16")
        let recipe = try writeRecipe(object, to: dir + "/r.json")
        _ = try Trainer(recipe: recipe, options: recordingOptions(TestLog(), stopAfter: 3)).run()
        StopSignals.reset()
        let statePath = dir + "/out/checkpoints/step-000003/trainer_state.json"
        var state = try XCTUnwrap(JSONSerialization.jsonObject(with: try Data(contentsOf: URL(fileURLWithPath: statePath))) as? [String: Any])
        let here = BF16Kernel.best.arithmetic
        XCTAssertEqual(state["bf16_arithmetic"] as? String, here.rawValue)
        let other: BF16Arithmetic = here == .tiled ? .pairwise : .tiled
        state["bf16_arithmetic"] = other.rawValue
        try JSONSerialization.data(withJSONObject: state).write(to: URL(fileURLWithPath: statePath))
        XCTAssertThrowsError(try Trainer(recipe: recipe, options: quietOptions())) { error in
            let text = error.localizedDescription
            XCTAssertTrue(text.contains("its bf16 products were summed in the \(other.rawValue) order"), text)
            XCTAssertTrue(text.contains("sums them in the \(here.rawValue) order (bf16 kernel \(BF16Kernel.best.rawValue))"), text)
            XCTAssertTrue(text.contains("--restart"), text)
        }
        // The order this CPU uses resumes.
        state["bf16_arithmetic"] = here.rawValue
        try JSONSerialization.data(withJSONObject: state).write(to: URL(fileURLWithPath: statePath))
        XCTAssertEqual(try Trainer(recipe: recipe, options: quietOptions()).state.step, 3)
    }

    func testCheckpointEvalLengthAndThreadChangesAreAccepted() throws {
        let (dir, base, _) = try stoppedRun()
        var object = base
        setKey(&object, "checkpoint", ["every_steps": 1, "keep_last": 1])
        setKey(&object, "data.eval", try syntheticDataset(in: dir, name: "eval.jsonl", count: 3, seed: 9))
        setKey(&object, "eval", ["every_steps": 1, "max_batches": 1])
        setKey(&object, "train.max_steps", 8)
        setKey(&object, "train.threads", 1)
        let log = TestLog()
        let resumed = try Trainer(recipe: try writeRecipe(object, to: dir + "/longer.json"), options: recordingOptions(log))
        XCTAssertEqual(resumed.state.step, 3)
        XCTAssertTrue(log.text.contains("resuming from \(dir)/out/checkpoints/step-000003 (step 3 of 8"), log.text)
        let summary = try resumed.run()
        XCTAssertEqual(summary.steps, 8)
        XCTAssertNotNil(summary.evalLoss)
        XCTAssertEqual(Checkpoints.complete(dir + "/out").map { ($0 as NSString).lastPathComponent }, ["step-000008"])
        // Evaluation lines from the resumed steps on (every step but the last, then the final one).
        XCTAssertEqual(try metricsLines(dir + "/out").filter { $0.evalLoss != nil }.map(\.step), [4, 5, 6, 7, 8])
    }

    /// The data file changed under the same name: refused (the recipe alone cannot tell).
    func testChangedDataUnderTheSameNameIsRefused() throws {
        let (dir, base, data) = try stoppedRun()
        _ = try syntheticDataset(in: dir, name: (data as NSString).lastPathComponent, count: 12, seed: 99)
        XCTAssertThrowsError(try Trainer(recipe: try writeRecipe(base, to: dir + "/r.json"), options: quietOptions())) { error in
            let text = error.localizedDescription
            XCTAssertTrue(text.contains("the training data changed since it was written"), text)
            XCTAssertTrue(text.contains("--restart"), text)
        }
    }

    /// `--resume` a checkpoint of another output dir (output_dir may change): same result as straight.
    func testResumeIntoAnotherOutputDirectory() throws {
        let (dir, base, _) = try stoppedRun()
        var straightObject = base
        setKey(&straightObject, "output_dir", dir + "/straight")
        let straight = try Trainer(recipe: try writeRecipe(straightObject, to: dir + "/straight.json"), options: quietOptions())
        _ = try straight.run()

        var object = base
        setKey(&object, "output_dir", dir + "/elsewhere")
        var options = quietOptions()
        options.resume = dir + "/out/checkpoints/step-000003"
        let moved = try Trainer(recipe: try writeRecipe(object, to: dir + "/elsewhere.json"), options: options)
        XCTAssertEqual(moved.state.step, 3)
        _ = try moved.run()
        XCTAssertTrue(try fileBytes(dir + "/elsewhere/adapter/adapter_model.safetensors") == fileBytes(dir + "/straight/adapter/adapter_model.safetensors"), "adapter bytes")
        XCTAssertTrue(moved.optimizer.m.map { bits($0.array) } == straight.optimizer.m.map { bits($0.array) }, "AdamW m bits")
        XCTAssertTrue(moved.optimizer.v.map { bits($0.array) } == straight.optimizer.v.map { bits($0.array) }, "AdamW v bits")
    }

    func testMathChangesFunction() throws {
        let dir = scratchDirectory(self, "mathchanges")
        let data = try syntheticDataset(in: dir, count: 2)
        let a = try writeRecipe(try tinyRecipe(data: data, output: dir + "/a"), to: dir + "/a.json")
        var object = try tinyRecipe(data: data, output: dir + "/b")
        setKey(&object, "checkpoint.keep_last", 9)
        setKey(&object, "eval.every_steps", 5)
        setKey(&object, "train.epochs", 3)
        let b = try writeRecipe(object, to: dir + "/b.json")
        XCTAssertEqual(b.mathChanges(since: a), [])
        XCTAssertEqual(a.mathFingerprint, b.mathFingerprint)
        setKey(&object, "optimizer.betas", [0.9, 0.95])
        setKey(&object, "data.template", "llama3.1")
        let c = try writeRecipe(object, to: dir + "/c.json")
        XCTAssertEqual(c.mathChanges(since: a), ["data.template", "optimizer.betas"])
        XCTAssertNotEqual(a.mathFingerprint, c.mathFingerprint)
    }
}
