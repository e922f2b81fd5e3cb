import Foundation
import Llama
import RunLayout
import SafeTensors
import Tensors

/// Errors of checkpoint I/O; a failed save never touches the previous checkpoint.
public struct CheckpointError: LocalizedError, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var errorDescription: String? { message }
}

/// `<output_dir>/checkpoints/step-NNNNNN/`: the adapter (PEFT layout), `optimizer.safetensors`
/// (AdamW moments), `trainer_state.json` and the resolved `recipe.json`; `checkpoints/latest` names the
/// newest complete one.
///
/// Saving writes everything into a temporary folder beside the final one, fsyncs, then renames it
/// into place and replaces `latest` atomically, so a kill at any instant leaves the previous
/// checkpoint intact and `latest` pointing at a complete folder.
public enum Checkpoints {
    /// Test hook: called before each file of a checkpoint is written (simulates a full disk).
    nonisolated(unsafe) public static var beforeWrite: ((String) throws -> Void)?

    public static func directory(_ outputDir: String) -> String { RunLayout.checkpointsDirectory(outputDir) }

    public static func name(step: Int) -> String { RunLayout.checkpointName(step: step) }

    /// Writes a checkpoint for `state.step`; returns its path.
    @discardableResult
    public static func save(outputDir: String, state: TrainerState, recipe: Recipe, adapters: LoRAAdapters,
                            optimizer: AdamW, keepLast: Int) throws -> String {
        let root = directory(outputDir)
        let final = (root as NSString).appendingPathComponent(name(step: state.step))
        let temp = (root as NSString).appendingPathComponent(".tmp-\(name(step: state.step))-\(getpid())")
        let fm = FileManager.default
        do {
            try fm.createDirectory(atPath: root, withIntermediateDirectories: true)
            try? fm.removeItem(atPath: temp)
            try fm.createDirectory(atPath: temp, withIntermediateDirectories: true)

            try beforeWrite?(RunLayout.adapterWeightsFile)
            try PEFTAdapter.save(adapters, baseModel: recipe.model, to: temp)

            try beforeWrite?(RunLayout.optimizerFile)
            var tensors: [TensorToWrite] = []
            for (i, (name, _)) in adapters.namedParameters.enumerated() {
                tensors.append(.float32(name: "m." + name, shape: optimizer.m[i].shape, data: optimizer.m[i].array))
                tensors.append(.float32(name: "v." + name, shape: optimizer.v[i].shape, data: optimizer.v[i].array))
            }
            try SafeTensorsWriter.write(tensors, metadata: ["format": "pt", "adamw_step": "\(optimizer.step)"],
                                        to: (temp as NSString).appendingPathComponent(RunLayout.optimizerFile))

            try beforeWrite?(RunLayout.trainerStateFile)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try AtomicFile.write(try encoder.encode(state), to: (temp as NSString).appendingPathComponent(RunLayout.trainerStateFile))
            try beforeWrite?(RunLayout.recipeFile)
            try AtomicFile.write(recipe.jsonData, to: (temp as NSString).appendingPathComponent(RunLayout.recipeFile))
            fsyncDirectory(temp)

            // Replace an existing folder of the same step (a re-run after resume) only once the new one is complete.
            if fm.fileExists(atPath: final) {
                let old = final + ".old-\(getpid())"
                try fm.moveItem(atPath: final, toPath: old)
                try fm.moveItem(atPath: temp, toPath: final)
                try? fm.removeItem(atPath: old)
            } else {
                try fm.moveItem(atPath: temp, toPath: final)
            }
            fsyncDirectory(root)
            try beforeWrite?(RunLayout.latestFile)
            try AtomicFile.write(Data((name(step: state.step) + "\n").utf8), to: (root as NSString).appendingPathComponent(RunLayout.latestFile))
        } catch {
            try? fm.removeItem(atPath: temp)
            let last = latest(outputDir).map { "the last complete checkpoint (\(($0 as NSString).lastPathComponent)) is intact and the same `llama-sft train` command resumes from it" }
                ?? "no earlier checkpoint exists"
            throw CheckpointError("cannot write checkpoint \(final): \(error.localizedDescription). Free disk space or fix permissions of \(outputDir); \(last).")
        }
        prune(outputDir, keepLast: keepLast)
        return final
    }

    /// The newest complete checkpoint, following `latest` (or, if that is missing, the highest complete step).
    public static func latest(_ outputDir: String) -> String? { RunLayout.latestCompleteCheckpoint(outputDir) }

    /// Complete checkpoint folders, oldest first.
    public static func complete(_ outputDir: String) -> [String] { RunLayout.completeCheckpoints(outputDir) }

    static func isComplete(_ path: String) -> Bool { RunLayout.isCompleteCheckpoint(path) }

    /// Removes leftovers of interrupted writes: temporary checkpoint folders (`.tmp-*`, also those of an
    /// interrupted prune), `AtomicFile` temporaries (`.NAME.tmp-*`) in the output dir, its adapter folder
    /// and the checkpoints folder, and folders set aside while a checkpoint of the same step was replaced
    /// (`step-N.old-PID`). A set-aside folder whose replacement never arrived is renamed back instead, so
    /// a kill during that swap loses nothing.
    public static func cleanTemporaries(_ outputDir: String) {
        let fm = FileManager.default
        let root = directory(outputDir)
        for name in (try? fm.contentsOfDirectory(atPath: root)) ?? [] {
            let path = (root as NSString).appendingPathComponent(name)
            if let range = name.range(of: ".old-"), name.hasPrefix("step-") {
                let original = (root as NSString).appendingPathComponent(String(name[..<range.lowerBound]))
                if !fm.fileExists(atPath: original), isComplete(path), (try? fm.moveItem(atPath: path, toPath: original)) != nil { continue }
                try? fm.removeItem(atPath: path)
            } else if name.hasPrefix(".") && name.contains(".tmp-") {
                try? fm.removeItem(atPath: path)
            }
        }
        for folder in [outputDir, (outputDir as NSString).appendingPathComponent(RunLayout.finalAdapterFolder)] {
            for name in (try? fm.contentsOfDirectory(atPath: folder)) ?? [] where name.hasPrefix(".") && name.contains(".tmp-") {
                try? fm.removeItem(atPath: (folder as NSString).appendingPathComponent(name))
            }
        }
    }

    /// Keeps the newest `keepLast` complete checkpoints (never the one `latest` names). A folder is first
    /// renamed to a `.tmp-` name, so a kill halfway through its removal leaves no half checkpoint under a
    /// `step-` name (the next start removes the rest).
    static func prune(_ outputDir: String, keepLast: Int) {
        let all = complete(outputDir)
        let keep = Set(all.suffix(max(1, keepLast))).union(latest(outputDir).map { [$0] } ?? [])
        for path in all where !keep.contains(path) {
            let doomed = (directory(outputDir) as NSString).appendingPathComponent(".tmp-prune-" + (path as NSString).lastPathComponent)
            if (try? FileManager.default.moveItem(atPath: path, toPath: doomed)) != nil {
                try? FileManager.default.removeItem(atPath: doomed)
            }
        }
    }

    /// What a checkpoint holds.
    public struct Loaded {
        public let path: String
        public let state: TrainerState
        public let recipe: Recipe
        public let m: [Tensor]
        public let v: [Tensor]
        public let adamStep: Int
    }

    /// Reads a checkpoint's state, recipe and optimizer moments for `adapters`' parameters (the adapter
    /// tensors themselves are loaded through `PEFTAdapter.load` by the caller).
    public static func load(_ path: String, parameterNames: [String]) throws -> Loaded {
        let statePath = (path as NSString).appendingPathComponent(RunLayout.trainerStateFile)
        guard let data = FileManager.default.contents(atPath: statePath) else { throw CheckpointError("\(statePath): cannot read the trainer state") }
        let state: TrainerState
        do { state = try JSONDecoder().decode(TrainerState.self, from: data) } catch {
            throw CheckpointError("\(statePath): not a trainer state of this version (\(error.localizedDescription))")
        }
        guard state.formatVersion == TrainerState.formatVersion else {
            throw CheckpointError("\(statePath): format version \(state.formatVersion), this llama-sft reads \(TrainerState.formatVersion)")
        }
        let recipe = try Recipe.load(path: (path as NSString).appendingPathComponent(RunLayout.recipeFile), baseDirectory: "/")
        let opt = try SafeTensorsFile(path: (path as NSString).appendingPathComponent(RunLayout.optimizerFile))
        var m: [Tensor] = [], v: [Tensor] = []
        for name in parameterNames {
            for (prefix, list) in [("m.", 0), ("v.", 1)] {
                guard let info = opt.info(prefix + name) else { throw CheckpointError("\(opt.path): missing \(prefix + name)") }
                let t = Tensor(uninitialized: info.shape)
                try opt.readFloat32(prefix + name, into: t.data, count: t.count)
                if list == 0 { m.append(t) } else { v.append(t) }
            }
        }
        let adamStep = Int(opt.metadata["adamw_step"] ?? "") ?? state.step
        return Loaded(path: path, state: state, recipe: recipe, m: m, v: v, adamStep: adamStep)
    }

    static func fsyncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY)
        if fd >= 0 { fsync(fd); close(fd) }
    }
}
