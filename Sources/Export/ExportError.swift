import Foundation

/// Why an export could not be made. Each case names the file or directory involved, what is wrong,
/// and what to do about it.
public enum ExportError: LocalizedError, Sendable {
    /// SOURCE is not a run directory, a checkpoint or a PEFT adapter directory.
    case notASource(path: String, reason: String)
    /// No base model could be found from `--base`, a recipe or the adapter config.
    case baseModelNotFound(source: String, tried: [String])
    /// `--base` (or a recipe / adapter config entry) names something that is not a model directory.
    case notAModelDirectory(path: String, origin: String)
    /// `--out` exists and is not empty, and `--force` was not given.
    case outputNotEmpty(path: String)
    /// `--out` is unusable (a file, an input of this export, …).
    case badOutput(path: String, reason: String)
    /// A base tensor cannot be exported (dtype, shape).
    case unsupportedTensor(file: String, tensor: String, reason: String)
    /// The adapter holds a non-finite value, which would poison the merged weights.
    case nonFiniteAdapter(tensor: String)
    /// A merged value does not fit the target dtype (float16 overflow).
    case overflow(tensor: String, dtype: String, count: Int)
    /// A JSON file of the base or of a run is malformed.
    case badJSON(path: String, reason: String)
    /// Writing the output failed.
    case writeFailed(path: String, reason: String)
    /// The built-in post-export check found the output wrong.
    case checkFailed(output: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case let .notASource(path, reason):
            return "\(path): not an export source: \(reason). SOURCE must be a run directory (with adapter/ or "
                + "checkpoints/latest), a checkpoint directory, or a PEFT adapter directory (adapter_config.json + "
                + "adapter_model.safetensors)."
        case let .baseModelNotFound(source, tried):
            let list = tried.isEmpty ? "no recipe.json and no base_model_name_or_path in adapter_config.json" : tried.joined(separator: "; ")
            return "\(source): cannot find the base model (\(list)). Pass --base MODEL_DIR (a Hugging Face model "
                + "directory with config.json and model.safetensors)."
        case let .notAModelDirectory(path, origin):
            return "\(path) (from \(origin)): not a model directory: it needs config.json and model.safetensors "
                + "(or model.safetensors.index.json with its shards), or it must be a .gguf file. Pass --base MODEL."
        case let .outputNotEmpty(path):
            return "\(path): the output directory exists and is not empty. Choose another --out, or pass --force to "
                + "replace it (the old directory is removed only after the new one is complete)."
        case let .badOutput(path, reason):
            return "\(path): cannot write the export here: \(reason)."
        case let .unsupportedTensor(file, tensor, reason):
            return "\(file): tensor \"\(tensor)\": \(reason)."
        case let .nonFiniteAdapter(tensor):
            return "adapter tensor \"\(tensor)\" contains NaN or infinity; the training run diverged. Export an "
                + "earlier checkpoint (checkpoints/step-…)."
        case let .overflow(tensor, dtype, count):
            return "tensor \"\(tensor)\": \(count) merged value(s) exceed the \(dtype) range and would become "
                + "infinite. Export with --dtype bf16 or --dtype f32."
        case let .badJSON(path, reason):
            return "\(path): \(reason)."
        case let .writeFailed(path, reason):
            return "\(path): write failed: \(reason)."
        case let .checkFailed(output, reason):
            return "post-export check failed for \(output): \(reason). Nothing was installed at the output path; "
                + "please report this with the figures above."
        }
    }
}
