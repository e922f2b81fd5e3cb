import Foundation
import Llama
import SafeTensors
import Training
import XCTest

/// A loss or gradient that stops being finite stops the run with a message naming the step, and
/// nothing non-finite is written over a good checkpoint or adapter.
final class NonFiniteLossTests: XCTestCase {
    func testPoisonedInitialAdapterStopsAtStepOne() throws {
        let dir = scratchDirectory(self, "nan-init")
        let config = try LlamaConfig.load(path: try goldenDir("tiny-llama32"))
        let adapters = LoRAAdapters.initialize(LoRAConfig(rank: 4, alpha: 8), model: config, seed: 3)
        adapters.namedParameters[5].variable.value[7] = .nan
        try PEFTAdapter.save(adapters, baseModel: nil, to: dir + "/poisoned")

        var object = try tinyRecipe(data: try syntheticDataset(in: dir, count: 8), output: dir + "/out")
        setKey(&object, "lora.init_from", dir + "/poisoned")
        let trainer = try Trainer(recipe: try writeRecipe(object, to: dir + "/r.json"), options: quietOptions())
        XCTAssertThrowsError(try trainer.run()) { error in
            let text = error.localizedDescription
            XCTAssertTrue(text.contains("step 1:") && text.contains("nan"), text)
            XCTAssertTrue(text.contains("lr"), "says what to try: \(text)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/out/adapter"))
        XCTAssertEqual(Checkpoints.complete(dir + "/out"), [])
        XCTAssertEqual(try metricsLines(dir + "/out"), [], "no metrics line for the failed step")
    }

    /// An eval loss that is not finite is reported and not recorded: the run finishes and metrics.jsonl
    /// and trainer_state.json stay valid JSON. The base model is the golden tiny-llama3 (untied
    /// embeddings) with input-embedding row 2 set to NaN: the training ids (3..<512) never use it, so
    /// the training loss stays finite, while every eval record has a 2 in its prompt.
    func testNonFiniteEvalLossIsReportedNotRecorded() throws {
        let dir = scratchDirectory(self, "nan-eval")
        let golden = try goldenDir("tiny-llama3"), model = dir + "/model"
        try FileManager.default.createDirectory(atPath: model, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: golden + "/config.json", toPath: model + "/config.json")
        let file = try SafeTensorsFile(path: golden + "/model.safetensors")
        let tensors = try file.names.sorted().map { name -> TensorToWrite in
            var values = try file.float32Array(name)
            let shape = file.info(name)!.shape
            if name == "model.embed_tokens.weight" { for j in 0..<shape[1] { values[2 * shape[1] + j] = .nan } }
            return .float32(name: name, shape: shape, data: values)
        }
        try SafeTensorsWriter.write(tensors, metadata: file.metadata, to: model + "/model.safetensors")
        let ids = [5, 2, 9, 11, 13, 17, 19, 23]
        let record = String(decoding: try JSONSerialization.data(withJSONObject: ["input_ids": ids, "labels": [-100, -100] + ids.dropFirst(2)]), as: UTF8.self)
        try (record + "\n" + record + "\n").write(toFile: dir + "/eval.jsonl", atomically: true, encoding: .utf8)

        var object = try tinyRecipe(data: try syntheticDataset(in: dir, count: 8), output: dir + "/out")  // 4 steps
        setKey(&object, "model", model)
        setKey(&object, "data.eval", dir + "/eval.jsonl")
        setKey(&object, "eval.every_steps", 2)
        let log = TestLog()
        let summary = try Trainer(recipe: try writeRecipe(object, to: dir + "/r.json"), options: recordingOptions(log)).run()
        XCTAssertEqual(summary.steps, 4)
        XCTAssertNotNil(summary.adapterDir, log.text)
        XCTAssertNil(summary.evalLoss)
        // Before the first step, at step 2, and the final evaluation.
        XCTAssertEqual(log.lines.filter { $0.contains("the eval loss is nan; not recorded") }.count, 3, log.text)
        let lines = try metricsLines(dir + "/out")
        XCTAssertEqual(lines.filter { $0.loss != nil }.count, 4)
        XCTAssertEqual(lines.filter { $0.evalLoss != nil }, [])
        let state = try String(contentsOfFile: try XCTUnwrap(Checkpoints.latest(dir + "/out")) + "/trainer_state.json", encoding: .utf8)
        XCTAssertFalse(state.lowercased().contains("nan"), state)
    }

    /// A finished run (good adapter, checkpoint at step 6), extended with a larger max_steps, from a
    /// checkpoint whose adapter (`poisonAdapter`) or AdamW second moment got NaN values.
    func extendPoisonedRun(poisonAdapter: Bool, to maxSteps: Int = 9) throws -> (dir: String, error: String, goodAdapter: Data, checkpoint: Data) {
        let dir = scratchDirectory(self, "nan-resume")
        let data = try syntheticDataset(in: dir, count: 14)
        func recipe(maxSteps: Int) throws -> Recipe {
            var object = try tinyRecipe(data: data, output: dir + "/out")
            setKey(&object, "schedule", ["type": "constant"])
            setKey(&object, "train.max_steps", maxSteps)
            return try writeRecipe(object, to: dir + "/r\(maxSteps).json")
        }
        _ = try Trainer(recipe: try recipe(maxSteps: 6), options: quietOptions()).run()
        let goodAdapter = try fileBytes(dir + "/out/adapter/adapter_model.safetensors")
        let last = dir + "/out/checkpoints/step-000006"
        XCTAssertEqual(Checkpoints.latest(dir + "/out"), last)

        let config = try LlamaConfig.load(path: try goldenDir("tiny-llama32"))
        if poisonAdapter {
            let (adapters, _) = try PEFTAdapter.load(directory: last, model: config)
            adapters.namedParameters[3].variable.value[2] = .nan
            try PEFTAdapter.save(adapters, baseModel: nil, to: last)
        } else {
            let file = try SafeTensorsFile(path: last + "/optimizer.safetensors")
            let tensors = try file.names.sorted().map { name -> TensorToWrite in
                var values = try file.float32Array(name)
                if name.hasPrefix("v.") { values[0] = .nan }
                return .float32(name: name, shape: file.info(name)!.shape, data: values)
            }
            try SafeTensorsWriter.write(tensors, metadata: file.metadata, to: last + "/optimizer.safetensors")
        }
        let checkpoint = try fileBytes(last + "/adapter_model.safetensors")

        let resumed = try Trainer(recipe: try recipe(maxSteps: maxSteps), options: quietOptions())
        XCTAssertEqual(resumed.state.step, 6)
        var message = ""
        XCTAssertThrowsError(try resumed.run()) { message = $0.localizedDescription }
        return (dir, message, goodAdapter, checkpoint)
    }

    func testNaNLossAfterResumeWritesNothing() throws {
        let r = try extendPoisonedRun(poisonAdapter: true)
        XCTAssertTrue(r.error.contains("step 7:") && r.error.contains("nan"), r.error)
        XCTAssertTrue(r.error.contains("last checkpoint is intact"), r.error)
        XCTAssertEqual(try fileBytes(r.dir + "/out/adapter/adapter_model.safetensors"), r.goodAdapter, "the good adapter is left alone")
        XCTAssertEqual(try fileBytes(r.dir + "/out/checkpoints/step-000006/adapter_model.safetensors"), r.checkpoint)
        XCTAssertEqual(Checkpoints.complete(r.dir + "/out").map { ($0 as NSString).lastPathComponent }, ["step-000003", "step-000006"])
        XCTAssertEqual(try metricsLines(r.dir + "/out").filter { $0.loss != nil }.map(\.step), Array(1...6), "no line for the failed step")
    }

    /// NaN moments make the update itself non-finite while the loss is still fine: the checkpoint of
    /// that step (here the last one, 7) is refused, so no NaN tensor reaches a checkpoint or the adapter.
    func testNonFiniteUpdateIsNeverCheckpointed() throws {
        let r = try extendPoisonedRun(poisonAdapter: false, to: 7)
        XCTAssertTrue(r.error.contains("step 7:") && r.error.contains("non-finite") && r.error.contains("lora_"), r.error)
        XCTAssertEqual(try fileBytes(r.dir + "/out/adapter/adapter_model.safetensors"), r.goodAdapter, "the good adapter is left alone")
        XCTAssertEqual(Checkpoints.latest(r.dir + "/out"), r.dir + "/out/checkpoints/step-000006")
    }
}
