import Foundation

/// The layout of a training run's output directory, the one place both the trainer (which writes it)
/// and export (which reads it) take it from:
///
/// ```
/// <run>/recipe.json                 the resolved recipe
/// <run>/metrics.jsonl               one line per step and per evaluation (see MetricsRecord)
/// <run>/loss.svg                    the loss curves
/// <run>/adapter/                    the final adapter (PEFT layout), written when the run ends
/// <run>/checkpoints/step-NNNNNN/    a checkpoint: adapter files, optimizer.safetensors,
///                                   trainer_state.json, recipe.json
/// <run>/checkpoints/latest          the name of the newest complete checkpoint
/// ```
///
/// A checkpoint folder is *complete* when it holds all five files. The trainer writes it under a
/// temporary name and renames it into place, so a `step-` folder is complete unless it was damaged
/// from outside; folders set aside while a step is rewritten (`step-N.old-PID`) are never checkpoints.
public enum RunLayout {
    public static let recipeFile = "recipe.json"
    public static let metricsFile = "metrics.jsonl"
    public static let lossCurveFile = "loss.svg"
    public static let finalAdapterFolder = "adapter"
    public static let checkpointsFolder = "checkpoints"
    public static let latestFile = "latest"
    /// A PEFT adapter folder's two files (every checkpoint and the final adapter folder are one).
    public static let adapterWeightsFile = "adapter_model.safetensors"
    public static let adapterConfigFile = "adapter_config.json"
    public static let optimizerFile = "optimizer.safetensors"
    public static let trainerStateFile = "trainer_state.json"

    /// What a complete checkpoint holds.
    public static let checkpointFiles = [adapterWeightsFile, adapterConfigFile, optimizerFile, trainerStateFile, recipeFile]

    public static func checkpointsDirectory(_ run: String) -> String { join(run, checkpointsFolder) }

    /// `step-000100`: zero-padded so that names sort by step.
    public static func checkpointName(step: Int) -> String { String(format: "step-%06d", step) }

    /// The step of a checkpoint folder name (`step-000100` → 100), nil for other names.
    public static func step(ofCheckpointName name: String) -> Int? {
        guard name.hasPrefix("step-") else { return nil }
        return Int(name.dropFirst(5))
    }

    public static func isCompleteCheckpoint(_ path: String) -> Bool {
        checkpointFiles.allSatisfy { FileManager.default.fileExists(atPath: join(path, $0)) }
    }

    /// Whether `path` holds a PEFT adapter (the two adapter files).
    public static func isAdapterDirectory(_ path: String) -> Bool {
        let fm = FileManager.default
        return fm.fileExists(atPath: join(path, adapterConfigFile)) && fm.fileExists(atPath: join(path, adapterWeightsFile))
    }

    /// Complete checkpoint folders of `run`, oldest first.
    public static func completeCheckpoints(_ run: String) -> [String] {
        let root = checkpointsDirectory(run)
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [])
            .filter { step(ofCheckpointName: $0) != nil }.sorted()
        return names.map { join(root, $0) }.filter(isCompleteCheckpoint)
    }

    /// The folder name `checkpoints/latest` holds: nil when the file is absent; throws
    /// ``LatestFileError`` when it holds something that cannot be a checkpoint name.
    public static func latestName(_ run: String) throws -> String? {
        let file = join(checkpointsDirectory(run), latestFile)
        guard let data = FileManager.default.contents(atPath: file) else { return nil }
        let name = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else { throw LatestFileError(path: file, found: name) }
        return name
    }

    /// The newest complete checkpoint: the one `latest` names when it is complete, else the highest
    /// complete step (a crash before `latest` was replaced).
    public static func latestCompleteCheckpoint(_ run: String) -> String? {
        if let name = try? latestName(run) {
            let path = join(checkpointsDirectory(run), name)
            if isCompleteCheckpoint(path) { return path }
        }
        return completeCheckpoints(run).last
    }

    /// `checkpoints/latest` does not hold a folder name.
    public struct LatestFileError: Error, Sendable {
        public let path: String
        public let found: String
    }

    static func join(_ a: String, _ b: String) -> String { (a as NSString).appendingPathComponent(b) }
}
