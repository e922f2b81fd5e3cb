import ChatData
import SafeTensors

/// The file format of an export.
public enum ExportFormat: String, Sendable, CaseIterable {
    /// A Hugging Face model directory (merged) or a PEFT adapter directory.
    case safetensors
    /// One GGUF file for llama.cpp and Ollama (merged model + Modelfile, or a llama.cpp LoRA adapter).
    case gguf
}

/// The floating-point type of the merged weights.
public enum ExportDType: String, Sendable, CaseIterable {
    /// Each tensor keeps the dtype the base stores it in (an F32 base gives F32, a BF16 base BF16).
    case auto
    case bf16
    case f16
    case f32

    /// Parses `auto`, `bf16`/`bfloat16`, `f16`/`fp16`/`float16`, `f32`/`fp32`/`float32`.
    public init?(argument: String) {
        switch argument.lowercased() {
        case "auto": self = .auto
        case "bf16", "bfloat16": self = .bf16
        case "f16", "fp16", "float16", "half": self = .f16
        case "f32", "fp32", "float32", "float": self = .f32
        default: return nil
        }
    }

    /// The safetensors dtype a floating tensor stored as `stored` is written as.
    func target(for stored: DType) -> DType {
        switch self {
        case .auto: return stored
        case .bf16: return .bf16
        case .f16: return .f16
        case .f32: return .f32
        }
    }
}

/// What `llama-sft export` was asked to do.
public struct ExportOptions: Sendable {
    /// A run directory, a checkpoint directory or a PEFT adapter directory.
    public var source: String
    /// The directory to create (refused when it exists and is not empty, unless `force`).
    public var output: String
    /// Merged weights' dtype (merged exports only).
    public var dtype: ExportDType
    /// Shard size limit in bytes (Hugging Face rule; merged exports only).
    public var maxShardBytes: Int
    /// Write a PEFT adapter directory instead of a merged model.
    public var adapterOnly: Bool
    /// Replace a non-empty output directory (only after the new one is complete).
    public var force: Bool
    /// The base model directory; found from the run's recipe or the adapter config when nil.
    public var baseModel: String?
    /// Run the post-export check (reload and compare logits / tensors). On by default.
    public var check: Bool
    public var format: ExportFormat = .safetensors
    /// The merged GGUF's weight type (`--format gguf`).
    public var ggufType: GGUFOutputType = .f16
    /// The chat format the model was trained in, when the run's recipe.json is not there to say
    /// (`--template`; GGUF exports write it as `tokenizer.chat_template` and into the Modelfile).
    public var chatTemplate: ChatTemplate?

    public init(source: String, output: String, dtype: ExportDType = .auto,
                maxShardBytes: Int = ShardedWriter.defaultMaxShardBytes, adapterOnly: Bool = false,
                force: Bool = false, baseModel: String? = nil, check: Bool = true) {
        self.source = source
        self.output = output
        self.dtype = dtype
        self.maxShardBytes = maxShardBytes
        self.adapterOnly = adapterOnly
        self.force = force
        self.baseModel = baseModel
        self.check = check
    }
}
