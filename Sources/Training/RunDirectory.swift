import Foundation

/// Phase 1 of a run: the output directory. It takes the directory's lock, sets a previous run aside
/// on `--restart`, removes leftovers of interrupted writes and decides where training resumes.
///
/// The lock is taken before the first change to the directory and held until `release()` (the end of
/// the run), so no other `llama-sft train` can move, clean or write into the folder meanwhile.
final class RunDirectory {
    let path: String
    /// The complete checkpoint to resume from, or nil to start at step 0.
    let resumePoint: String?
    private var lock: OutputLock?

    init(path: String, restart: Bool, resume: String?, log: (String) -> Void) throws {
        self.path = path
        let fm = FileManager.default
        if fm.fileExists(atPath: path) { lock = try OutputLock(directory: path) }
        if restart, fm.fileExists(atPath: path), !((try? fm.contentsOfDirectory(atPath: path)) ?? []).isEmpty {
            try RunDirectory.moveAside(path, log: log)
            // The lock went with the old folder (flock follows the file, not its name): the new folder
            // gets its own below, before anything is written into it.
            lock = nil
        }
        do { try fm.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            throw TrainingError("cannot create the output directory \(path): \(error.localizedDescription)")
        }
        if lock == nil { lock = try OutputLock(directory: path) }
        Checkpoints.cleanTemporaries(path)
        resumePoint = try RunDirectory.resumePoint(path, restart: restart, resume: resume)
    }

    /// Ends the run's hold on the directory.
    func release() { lock = nil }

    /// `--restart`: the previous run is renamed `<dir>.old-<time>`, never deleted.
    private static func moveAside(_ path: String, log: (String) -> Void) throws {
        let fm = FileManager.default
        let stamp = ISO8601DateFormatter().string(from: Date()).replacingOccurrences(of: ":", with: "")
        var aside = path + ".old-" + stamp
        var n = 1
        while fm.fileExists(atPath: aside) {  // two restarts within a second: never overwrite the first
            n += 1
            aside = path + ".old-" + stamp + "-\(n)"
        }
        do { try fm.moveItem(atPath: path, toPath: aside) } catch {
            throw TrainingError("--restart: cannot move the previous run \(path) aside to \(aside): \(error.localizedDescription). Move or remove it yourself, or choose another output_dir.")
        }
        log("--restart: moved the previous run to \(aside)")
    }

    /// Explicit `--resume` (a checkpoint folder, or an output dir: its latest), else the newest complete
    /// checkpoint of this output dir; nothing after `--restart`.
    private static func resumePoint(_ path: String, restart: Bool, resume: String?) throws -> String? {
        if restart { return nil }
        guard let chosen = resume else { return Checkpoints.latest(path) }
        guard let found = Checkpoints.isComplete(chosen) ? chosen : Checkpoints.latest(chosen) else {
            throw TrainingError("--resume \(chosen): not a complete checkpoint (a folder with adapter_model.safetensors, adapter_config.json, optimizer.safetensors, trainer_state.json and recipe.json) nor an output dir that has one; checkpoints are <output_dir>/checkpoints/step-NNNNNN")
        }
        return found
    }
}
