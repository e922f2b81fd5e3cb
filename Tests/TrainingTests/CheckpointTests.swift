import Foundation
import Llama
import SafeTensors
import Training
import XCTest

/// The checkpoint folder's life: pruning, the `latest` pointer, leftovers of interrupted writes,
/// `--resume PATH`, `--restart`, and write failures (a full disk) that must leave the last checkpoint
/// intact and loadable.
final class CheckpointTests: XCTestCase {
    override func tearDown() {
        Checkpoints.beforeWrite = nil
        StopSignals.reset()
        super.tearDown()
    }

    func names(_ out: String) -> [String] { Checkpoints.complete(out).map { ($0 as NSString).lastPathComponent } }

    func run(_ dir: String, _ name: String = "out", every: Int, keepLast: Int, options: TrainOptions = quietOptions(),
             _ tweak: (inout [String: Any]) -> Void = { _ in }) throws -> (Trainer, TrainSummary) {
        let data = try syntheticDataset(in: dir, count: 12)  // 6 steps of batch 2
        var object = try tinyRecipe(data: data, output: dir + "/" + name)
        setKey(&object, "checkpoint", ["every_steps": every, "keep_last": keepLast])
        tweak(&object)
        let trainer = try Trainer(recipe: try writeRecipe(object, to: dir + "/\(name).json"), options: options)
        return (trainer, try trainer.run())
    }

    func testKeepLastPrunesOlderCheckpointsNeverTheNewest() throws {
        let dir = scratchDirectory(self, "prune")
        _ = try run(dir, "keep2", every: 1, keepLast: 2)
        XCTAssertEqual(names(dir + "/keep2"), ["step-000005", "step-000006"])
        XCTAssertEqual(Checkpoints.latest(dir + "/keep2"), dir + "/keep2/checkpoints/step-000006")
        _ = try run(dir, "keep1", every: 2, keepLast: 1)
        XCTAssertEqual(names(dir + "/keep1"), ["step-000006"])
        // every_steps 0: only the final checkpoint.
        _ = try run(dir, "final", every: 0, keepLast: 3)
        XCTAssertEqual(names(dir + "/final"), ["step-000006"])
        // Nothing but complete checkpoints and the pointer are left in the folder.
        let entries = try FileManager.default.contentsOfDirectory(atPath: dir + "/keep2/checkpoints").sorted()
        XCTAssertEqual(entries, ["latest", "step-000005", "step-000006"])
        XCTAssertEqual(try String(contentsOfFile: dir + "/keep2/checkpoints/latest", encoding: .utf8), "step-000006\n")
    }

    /// What a checkpoint holds: PEFT adapter, AdamW moments and step, trainer state, resolved recipe.
    func testCheckpointContents() throws {
        let dir = scratchDirectory(self, "contents")
        let (trainer, _) = try run(dir, every: 0, keepLast: 1)
        let path = dir + "/out/checkpoints/step-000006"
        let names = adaptersNames(trainer)
        let loaded = try Checkpoints.load(path, parameterNames: names)
        XCTAssertEqual(loaded.state.step, 6)
        XCTAssertEqual(loaded.state.epoch, 1)
        XCTAssertEqual(loaded.state.indexInEpoch, 0)
        XCTAssertEqual(loaded.state.formatVersion, TrainerState.formatVersion)
        XCTAssertEqual(loaded.state.recipeHash, trainer.recipe.mathFingerprint)
        XCTAssertNotNil(loaded.state.dataFingerprint)
        XCTAssertEqual(loaded.state.trainExamples, 12)
        XCTAssertEqual(loaded.adamStep, 6)
        XCTAssertEqual(loaded.recipe, trainer.recipe)
        XCTAssertTrue(loaded.m.map { bits($0.array) } == trainer.optimizer.m.map { bits($0.array) }, "AdamW m bits")
        XCTAssertTrue(loaded.v.map { bits($0.array) } == trainer.optimizer.v.map { bits($0.array) }, "AdamW v bits")
        let (adapter, _) = try PEFTAdapter.load(directory: path, model: trainer.model.config)
        XCTAssertTrue(adapter.namedParameters.map { bits($0.variable.value.array) } == trainer.adapters.namedParameters.map { bits($0.variable.value.array) }, "adapter bits")
        // The trainer state is plain JSON with the documented keys.
        let state = try jsonObject(path + "/trainer_state.json")
        for key in ["format_version", "step", "epoch", "index_in_epoch", "seed", "total_steps", "warmup_steps", "base_lr", "recipe_hash", "tokens_seen"] {
            XCTAssertNotNil(state[key], key)
        }
    }

    func adaptersNames(_ t: Trainer) -> [String] { t.adapters.namedParameters.map(\.name) }

    func testLatestSkipsTemporariesAndIncompleteFoldersAndStartUpCleansThem() throws {
        let dir = scratchDirectory(self, "tmp")
        let (first, _) = try run(dir, every: 3, keepLast: 5, options: recordingOptions(TestLog(), stopAfter: 4))
        StopSignals.reset()
        let out = dir + "/out", root = dir + "/out/checkpoints"
        XCTAssertEqual(names(out), ["step-000003", "step-000004"])
        let fm = FileManager.default
        // Leftovers of a killed save (a complete-looking temporary folder), of an AtomicFile write, of an
        // interrupted prune, and a step folder that lacks files: none of them may be taken for a checkpoint.
        try fm.copyItem(atPath: root + "/step-000004", toPath: root + "/.tmp-step-000005-4242")
        try fm.copyItem(atPath: root + "/step-000003", toPath: root + "/.tmp-prune-step-000002")
        try fm.createDirectory(atPath: root + "/step-000009", withIntermediateDirectories: true)
        try fm.copyItem(atPath: root + "/step-000004/adapter_model.safetensors", toPath: root + "/step-000009/adapter_model.safetensors")
        try Data("step-000005\n".utf8).write(to: URL(fileURLWithPath: root + "/.latest.tmp-4242-1"))
        try Data("{}".utf8).write(to: URL(fileURLWithPath: out + "/.recipe.json.tmp-4242-7"))
        try fm.createDirectory(atPath: out + "/adapter", withIntermediateDirectories: true)
        try Data().write(to: URL(fileURLWithPath: out + "/adapter/.adapter_model.safetensors.tmp-4242-9"))
        XCTAssertEqual(Checkpoints.latest(out), root + "/step-000004")
        XCTAssertEqual(names(out), ["step-000003", "step-000004"])
        // Without the pointer, the newest complete folder.
        try fm.removeItem(atPath: root + "/latest")
        XCTAssertEqual(Checkpoints.latest(out), root + "/step-000004")
        // A pointer naming a folder that is gone falls back the same way.
        try Data("step-000007\n".utf8).write(to: URL(fileURLWithPath: root + "/latest"))
        XCTAssertEqual(Checkpoints.latest(out), root + "/step-000004")

        let resumed = try Trainer(recipe: first.recipe, options: quietOptions())
        XCTAssertEqual(resumed.state.step, 4)
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: root).sorted(), ["latest", "step-000003", "step-000004", "step-000009"],
                       "temporaries removed; the stray step-000009 is not ours to delete")
        XCTAssertFalse(try fm.contentsOfDirectory(atPath: out).contains { $0.contains(".tmp-") })
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: out + "/adapter"), [])
    }

    /// A kill between setting an existing folder of the same step aside and moving its replacement in
    /// leaves `step-N.old-PID`: the next start puts it back (or drops it once the replacement is there).
    func testFolderSetAsideDuringReplacementIsRestored() throws {
        let dir = scratchDirectory(self, "aside")
        let (trainer, _) = try run(dir, every: 0, keepLast: 2)
        let out = dir + "/out", root = dir + "/out/checkpoints"
        let fm = FileManager.default
        try fm.moveItem(atPath: root + "/step-000006", toPath: root + "/step-000006.old-4242")
        XCTAssertNil(Checkpoints.latest(out), "an .old- folder is not a checkpoint")
        Checkpoints.cleanTemporaries(out)
        XCTAssertEqual(Checkpoints.latest(out), root + "/step-000006")
        _ = try PEFTAdapter.load(directory: root + "/step-000006", model: trainer.model.config)

        try fm.copyItem(atPath: root + "/step-000006", toPath: root + "/step-000006.old-4243")
        Checkpoints.cleanTemporaries(out)
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: root).sorted(), ["latest", "step-000006"])
    }

    /// `--resume PATH` continues from an older checkpoint than the latest; the redone steps replace the
    /// newer folders and the end result equals the straight run.
    func testResumeFromAChosenCheckpoint() throws {
        let dir = scratchDirectory(self, "chosen")
        let (straight, _) = try run(dir, "straight", every: 2, keepLast: 3)
        let (partial, _) = try run(dir, every: 2, keepLast: 3, options: recordingOptions(TestLog(), stopAfter: 4))
        StopSignals.reset()
        XCTAssertEqual(names(dir + "/out"), ["step-000002", "step-000004"])
        var options = quietOptions()
        options.resume = dir + "/out/checkpoints/step-000002"
        let resumed = try Trainer(recipe: partial.recipe, options: options)
        XCTAssertEqual(resumed.state.step, 2)
        _ = try resumed.run()
        XCTAssertEqual(names(dir + "/out"), ["step-000002", "step-000004", "step-000006"])
        try assertSameRun(straight, resumed, "--resume step-000002")

        // An output dir stands for its latest checkpoint; anything else is a clear error.
        options.resume = dir + "/out"
        XCTAssertEqual(try Trainer(recipe: partial.recipe, options: options).state.step, 6)
        options.resume = dir + "/nowhere"
        XCTAssertThrowsError(try Trainer(recipe: partial.recipe, options: options)) { error in
            XCTAssertTrue(error.localizedDescription.contains("--resume \(dir)/nowhere: not a complete checkpoint"), error.localizedDescription)
        }
    }

    /// An optimizer.safetensors whose moments do not match the adapter's tensors (another rank's, or a
    /// hand-edited file) is a clear error on resume, never an out-of-bounds write in AdamW.
    func testOptimizerStateThatDoesNotFitTheAdapterIsRefused() throws {
        let dir = scratchDirectory(self, "optimizer-shape")
        let (stopped, _) = try run(dir, every: 2, keepLast: 3, options: recordingOptions(TestLog(), stopAfter: 2))
        StopSignals.reset()
        let path = dir + "/out/checkpoints/step-000002/optimizer.safetensors"
        let file = try SafeTensorsFile(path: path)
        let shrunk = try XCTUnwrap(file.names.sorted().first { $0.hasPrefix("v.") })
        let tensors = try file.names.sorted().map { name -> TensorToWrite in
            let values = try file.float32Array(name)
            // One second moment loses its last element: the shape no longer matches its adapter tensor.
            return name == shrunk ? .float32(name: name, shape: [values.count - 1], data: Array(values.dropLast()))
                                  : .float32(name: name, shape: file.info(name)!.shape, data: values)
        }
        try SafeTensorsWriter.write(tensors, metadata: file.metadata, to: path)
        XCTAssertThrowsError(try Trainer(recipe: stopped.recipe, options: quietOptions())) { error in
            let text = error.localizedDescription
            XCTAssertTrue(text.contains("optimizer.safetensors does not fit its adapter"), text)
            XCTAssertTrue(text.contains("--resume") && text.contains("--restart"), "says what to do: \(text)")
        }
    }

    func testRestartMovesTheOldRunAsideAndStartsOver() throws {
        let dir = scratchDirectory(self, "restart")
        let (old, _) = try run(dir, every: 2, keepLast: 3)
        let adapter = try fileBytes(dir + "/out/adapter/adapter_model.safetensors")
        var asides: [String] = []
        for _ in 0..<2 {  // twice within a second: the second must not collide with the first
            let log = TestLog()
            var options = recordingOptions(log)
            options.restart = true
            let fresh = try Trainer(recipe: old.recipe, options: options)
            XCTAssertEqual(fresh.state.step, 0)
            let line = try XCTUnwrap(log.lines.first { $0.hasPrefix("--restart: moved the previous run to ") })
            let aside = String(line.dropFirst("--restart: moved the previous run to ".count))
            XCTAssertTrue(aside.hasPrefix(dir + "/out.old-"), aside)
            XCTAssertFalse(asides.contains(aside))
            asides.append(aside)
            XCTAssertEqual(Checkpoints.latest(dir + "/out"), nil, "the new run starts with an empty output dir")
            XCTAssertEqual(try fileBytes(aside + "/adapter/adapter_model.safetensors"), adapter, "the old run is kept as it was")
            XCTAssertEqual(Checkpoints.complete(aside).count, 3)
            _ = try fresh.run()
            XCTAssertEqual(try fileBytes(dir + "/out/adapter/adapter_model.safetensors"), adapter, "the same run again")
        }
    }

    /// A full disk (simulated) at every point of a checkpoint write: a clear error naming the
    /// checkpoint and the intact one; the previous checkpoint stays loadable; no temporary is left; a
    /// later resume finishes exactly like the straight run.
    func testWriteFailureLeavesThePreviousCheckpointIntact() throws {
        let dir = scratchDirectory(self, "enospc")
        let (straight, _) = try run(dir, "straight", every: 2, keepLast: 3)
        for (i, failing) in ["adapter_model.safetensors", "optimizer.safetensors", "trainer_state.json", "recipe.json", "latest"].enumerated() {
            let name = "out\(i)"
            var calls = 0
            // The first checkpoint (step 2) is written; the second (step 4) fails at `failing`.
            Checkpoints.beforeWrite = { file in
                if file == failing {
                    calls += 1
                    if calls == 2 { throw POSIXError(.ENOSPC) }
                }
            }
            XCTAssertThrowsError(try run(dir, name, every: 2, keepLast: 3)) { error in
                let text = error.localizedDescription
                XCTAssertTrue(error is CheckpointError, "\(failing): \(error)")
                XCTAssertTrue(text.contains("cannot write checkpoint \(dir)/\(name)/checkpoints/step-000004"), text)
                XCTAssertTrue(text.contains("step-000002) is intact"), text)
                XCTAssertTrue(text.contains("Free disk space") && text.contains("No space left on device"), text)
                XCTAssertTrue(text.contains("resumes from it"), text)
            }
            Checkpoints.beforeWrite = nil
            let out = dir + "/" + name
            XCTAssertEqual(Checkpoints.latest(out), out + "/checkpoints/step-000002", failing)
            let entries = try FileManager.default.contentsOfDirectory(atPath: out + "/checkpoints")
            XCTAssertFalse(entries.contains { $0.hasPrefix(".") }, "\(failing): \(entries)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/adapter"))

            let resumed = try Trainer(recipe: try Recipe.load(path: dir + "/\(name).json"), options: quietOptions())
            XCTAssertEqual(resumed.state.step, 2, failing)
            _ = try resumed.run()
            try assertSameRun(straight, resumed, "after a failed write of \(failing)")
        }
    }

    func testUnwritableOutputDirectoryIsAClearError() throws {
        let dir = scratchDirectory(self, "unwritable")
        try Data("not a folder".utf8).write(to: URL(fileURLWithPath: dir + "/file"))
        let object = try tinyRecipe(data: try syntheticDataset(in: dir, count: 4), output: dir + "/file/out")
        XCTAssertThrowsError(try Trainer(recipe: try writeRecipe(object, to: dir + "/r.json"), options: quietOptions())) { error in
            let text = error.localizedDescription
            XCTAssertTrue(text.contains("cannot create the output directory \(dir)/file/out"), text)
        }
    }
}
