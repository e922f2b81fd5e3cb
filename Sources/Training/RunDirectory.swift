import Foundation
import RunLayout
import SafeTensors

/// Phase 1 of a run: the output directory. It refuses a folder that is not safe to train into, takes
/// the directory's lock, sets a previous run aside on `--restart`, removes leftovers of interrupted
/// writes and decides where training resumes.
///
/// Only a run directory is ever moved or cleaned: one that holds the marker file `.llama-sft-run`
/// (written when the run creates or first adopts the folder), or an empty or new folder.
/// The lock is taken before the first change to the directory and held until `release()` (the end of
/// the run), so no other `llama-sft train` can move, clean or write into the folder meanwhile.
final class RunDirectory {
    let path: String
    /// The complete checkpoint to resume from, or nil to start at step 0.
    let resumePoint: String?
    private var lock: OutputLock?

    /// The file that makes a folder recognisable as a llama-sft run.
    static let markerName = ".llama-sft-run"

    /// - Parameter inputs: the run's inputs (model, data, tokenizer, initial adapter): the output
    ///   directory may be none of them and may not contain them.
    init(path: String, inputs: [String], restart: Bool, resume: String?, log: (String) -> Void) throws {
        self.path = path
        let fm = FileManager.default
        try RunDirectory.refuseUnsafe(path, inputs: inputs)
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
        let marker = (path as NSString).appendingPathComponent(RunDirectory.markerName)
        if !fm.fileExists(atPath: marker) {
            do { try AtomicFile.write(Data("This folder is a llama-sft training run (checkpoints, metrics, adapter).\n".utf8), to: marker) } catch {
                throw TrainingError("cannot write \(marker): \(error.localizedDescription); is the output directory writable?")
            }
        }
        Checkpoints.cleanTemporaries(path)
        resumePoint = try RunDirectory.resumePoint(path, restart: restart, resume: resume)
    }

    /// Refuses an `output_dir` that training (or `--restart`, which moves the folder aside) would damage:
    /// the current directory or one of its ancestors, the home folder, one of the run's inputs or a
    /// folder that holds one, a file, or a non-empty folder that is not a llama-sft run.
    static func refuseUnsafe(_ path: String, inputs: [String]) throws {
        let fm = FileManager.default
        let target = CanonicalPath.of(path)
        let here = CanonicalPath.of(fm.currentDirectoryPath)
        let advice = "Set output_dir to a folder of its own, e.g. \"checkpoints/my-run\"."
        if CanonicalPath.isSameOrInside(here, target) {
            throw TrainingError("output_dir \(path) is the current directory or one of its parents; a run (and --restart, which moves it aside) would take over that folder. \(advice)")
        }
        if target == CanonicalPath.of(NSHomeDirectory()) {
            throw TrainingError("output_dir \(path) is the home folder. \(advice)")
        }
        for input in inputs where CanonicalPath.isSameOrInside(CanonicalPath.of(input), target) {
            throw TrainingError("output_dir \(path) is or contains \(input), an input of this run. \(advice)")
        }
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDir) else { return }
        guard isDir.boolValue else { throw TrainingError("output_dir \(path) is a file, not a folder. \(advice)") }
        let contents = (try? fm.contentsOfDirectory(atPath: path)) ?? []
        if !contents.isEmpty && !isRun(path, contents: contents) {
            throw TrainingError("output_dir \(path) is a non-empty folder that is not a llama-sft run (it has no \(markerName)); training there, or --restart moving it aside, could damage its files. Use an empty or new folder. \(advice)")
        }
    }

    /// A folder with the marker, one written by a version before the marker (its lock file and its
    /// metrics or checkpoints), or one a run was stopped in before its marker was in place (only the lock
    /// file and the marker's temporary file: nothing of anyone else's).
    static func isRun(_ path: String, contents: [String]) -> Bool {
        let names = Set(contents)
        let lock = ".llama-sft.lock"
        return names.contains(markerName)
            || (names.contains(lock) && (names.contains(RunLayout.metricsFile) || names.contains(RunLayout.checkpointsFolder)))
            || (names.contains(lock) && names.allSatisfy { $0 == lock || $0.hasPrefix("." + markerName + ".tmp-") })
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
