import Foundation
import Llama
import RunLayout

/// Where the adapter to export lives, and the run it came from (if any).
///
/// Accepted SOURCE layouts (the trainer's run directory, see `Training`):
/// - a run directory: `<run>/adapter/` (the final adapter) is used when present, else the checkpoint named by
///   `<run>/checkpoints/latest` (else the highest `checkpoints/step-*` holding an adapter);
/// - a checkpoint directory `<run>/checkpoints/step-000100/` (adapter files + `recipe.json`, `trainer_state.json`);
/// - any PEFT adapter directory (`adapter_config.json` + `adapter_model.safetensors`).
public struct ExportSource: Sendable {
    public enum Kind: String, Sendable {
        case finalAdapter = "final adapter of a run"
        case checkpoint = "checkpoint"
        case adapter = "PEFT adapter"
    }

    /// The directory holding `adapter_config.json` and `adapter_model.safetensors`.
    public let adapterDirectory: String
    public let kind: Kind
    /// The run directory, when the adapter belongs to one (for `recipe.json` and `metrics.jsonl`).
    public let runDirectory: String?

    public init(adapterDirectory: String, kind: Kind, runDirectory: String?) {
        self.adapterDirectory = adapterDirectory
        self.kind = kind
        self.runDirectory = runDirectory
    }

    /// Resolves SOURCE (see the type's documentation); `log` receives what was chosen and why.
    public static func resolve(_ path: String, log: (String) -> Void = { _ in }) throws -> ExportSource {
        let fm = FileManager.default
        let dir = absolutePath(path)
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: dir, isDirectory: &isDir) else {
            throw ExportError.notASource(path: dir, reason: "it does not exist")
        }
        guard isDir.boolValue else { throw ExportError.notASource(path: dir, reason: "it is a file, not a directory") }

        if isAdapterDirectory(dir) {
            let isCheckpoint = fm.fileExists(atPath: join(dir, RunLayout.trainerStateFile))
                || fm.fileExists(atPath: join(dir, RunLayout.optimizerFile))
            let parent = (dir as NSString).deletingLastPathComponent
            var run: String?
            if (parent as NSString).lastPathComponent == RunLayout.checkpointsFolder {
                let candidate = (parent as NSString).deletingLastPathComponent
                if fm.fileExists(atPath: join(candidate, RunLayout.recipeFile)) { run = candidate }
            } else if (dir as NSString).lastPathComponent == RunLayout.finalAdapterFolder, fm.fileExists(atPath: join(parent, RunLayout.recipeFile)) {
                run = parent
            }
            let kind: Kind = isCheckpoint ? .checkpoint : (run != nil ? .finalAdapter : .adapter)
            return ExportSource(adapterDirectory: dir, kind: kind, runDirectory: run)
        }

        let finalAdapter = join(dir, RunLayout.finalAdapterFolder)
        if isAdapterDirectory(finalAdapter) {
            log("source: run directory; using its final adapter \(finalAdapter)")
            return ExportSource(adapterDirectory: finalAdapter, kind: .finalAdapter, runDirectory: dir)
        }

        let checkpoints = RunLayout.checkpointsDirectory(dir)
        if fm.fileExists(atPath: checkpoints, isDirectory: &isDir), isDir.boolValue {
            let latestName: String?
            do { latestName = try RunLayout.latestName(dir) } catch let error as RunLayout.LatestFileError {
                throw ExportError.notASource(path: error.path, reason: "it should hold a checkpoint folder name such as step-000100, found \"\(error.found)\"")
            }
            if let latestName {
                let checkpoint = join(checkpoints, latestName)
                guard isAdapterDirectory(checkpoint) else {
                    throw ExportError.notASource(path: checkpoint, reason: "checkpoints/latest names it, but it has no adapter_config.json and adapter_model.safetensors")
                }
                log("source: run directory without a final adapter; using its latest checkpoint \(checkpoint)")
                return ExportSource(adapterDirectory: checkpoint, kind: .checkpoint, runDirectory: dir)
            }
            // No `latest` (a crash before it was written): the highest complete checkpoint, by the
            // trainer's own rule (RunLayout), so export never picks a folder a resume would not.
            if let checkpoint = RunLayout.completeCheckpoints(dir).last {
                log("source: run directory without adapter/ or checkpoints/latest; using the highest checkpoint \(checkpoint)")
                return ExportSource(adapterDirectory: checkpoint, kind: .checkpoint, runDirectory: dir)
            }
        }
        throw ExportError.notASource(path: dir, reason: "it has no adapter_config.json + adapter_model.safetensors, no adapter/ and no checkpoints/latest")
    }

    /// `recipe.json` files that may name the base model, nearest first.
    var recipeCandidates: [String] {
        var list = [join(adapterDirectory, "recipe.json")]
        if let runDirectory { list.append(join(runDirectory, "recipe.json")) }
        return list
    }

    /// Finds the base model directory: `explicit` (`--base`), else the `"model"` of the nearest
    /// `recipe.json`, else `base_model_name_or_path` of `adapter_config.json` when it is a local
    /// directory. Throws ``ExportError/baseModelNotFound(source:tried:)`` listing what was tried.
    public func baseModelDirectory(explicit: String?, log: (String) -> Void = { _ in }) throws -> String {
        if let explicit {
            let dir = absolutePath(explicit)
            guard Self.isModelDirectory(dir) else { throw ExportError.notAModelDirectory(path: dir, origin: "--base") }
            return dir
        }
        var tried: [String] = []
        for recipe in recipeCandidates {
            guard let data = FileManager.default.contents(atPath: recipe) else { continue }
            guard let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
                throw ExportError.badJSON(path: recipe, reason: "not a JSON object")
            }
            guard let model = json["model"] as? String, !model.isEmpty else {
                tried.append("\(recipe) has no string \"model\"")
                continue
            }
            // The trainer writes an absolute path; a relative one is taken from the working directory,
            // then from the recipe's folder.
            let recipeFolder = (recipe as NSString).deletingLastPathComponent
            let candidates = model.hasPrefix("/") ? [model] : [absolutePath(model), join(recipeFolder, model)]
            if let found = candidates.first(where: Self.isModelDirectory) {
                log("base model: \(found) (from \(recipe))")
                return found
            }
            tried.append("\(recipe) names \"\(model)\", which is not a model directory here")
        }
        let configPath = join(adapterDirectory, RunLayout.adapterConfigFile)
        if let data = FileManager.default.contents(atPath: configPath),
           let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] {
            if let name = json["base_model_name_or_path"] as? String, !name.isEmpty {
                let dir = absolutePath(name)
                if Self.isModelDirectory(dir) {
                    log("base model: \(dir) (from \(configPath) base_model_name_or_path)")
                    return dir
                }
                tried.append("\(configPath) base_model_name_or_path \"\(name)\" is not a local model directory")
            } else {
                tried.append("\(configPath) base_model_name_or_path is null")
            }
        }
        throw ExportError.baseModelNotFound(source: adapterDirectory, tried: tried)
    }

    static func isAdapterDirectory(_ dir: String) -> Bool { RunLayout.isAdapterDirectory(dir) }

    /// A Hugging Face model directory, or a GGUF model file.
    static func isModelDirectory(_ dir: String) -> Bool {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        if case .gguf = ModelSource(path: dir) { return fm.fileExists(atPath: dir, isDirectory: &isDirectory) && !isDirectory.boolValue }
        return fm.fileExists(atPath: join(dir, "config.json"))
            && (fm.fileExists(atPath: join(dir, "model.safetensors")) || fm.fileExists(atPath: join(dir, "model.safetensors.index.json")))
    }
}

/// `a/b` without Foundation URL round trips.
func join(_ a: String, _ b: String) -> String { (a as NSString).appendingPathComponent(b) }

/// An absolute, standardised path (relative paths are taken from the working directory).
func absolutePath(_ path: String) -> String {
    let expanded = (path as NSString).expandingTildeInPath
    let full = expanded.hasPrefix("/") ? expanded : join(FileManager.default.currentDirectoryPath, expanded)
    return (full as NSString).standardizingPath
}
