import GGUF
import Llama
import SafeTensors

/// One tensor of the merged model: where it comes from, how it is stored, what it becomes.
struct PlannedTensor {
    let name: String
    let shape: [Int]
    /// The dtype in the base file.
    let stored: DType
    /// The dtype written.
    let target: DType
    /// The LoRA pair merged into it, if it is an adapted projection.
    let merge: (layer: Int, projection: Projection)?

    var byteCount: Int { shape.reduce(1, *) * target.bitSize / 8 }
}

/// The merged model's tensors in Hugging Face state-dict order (the order `save_pretrained` walks when
/// it assigns shards): `model.embed_tokens`, then each layer in `LlamaDecoderLayer` module order
/// (`self_attn.{q,k,v,o}_proj`, `mlp.{gate,up,down}_proj`, `input_layernorm`, `post_attention_layernorm`),
/// `model.norm`, `lm_head` (absent when tied, docs/formats.md, Forward pass).
///
/// Base tensors outside that set are copied after it, in file order, except the ones that are never
/// part of a Llama checkpoint's meaning: `*.rotary_emb.inv_freq` (old conversions, docs/formats.md, Tensor names) and a
/// stray `lm_head.weight` in a tied model (vllm-project/vllm#6758).
struct MergedTensorPlan {
    let tensors: [PlannedTensor]
    /// Base tensors deliberately not written, with the reason.
    let dropped: [(name: String, reason: String)]
    /// Base tensors copied that the Llama layout does not know.
    let extras: [String]

    /// The Llama tensors in state-dict order: name, shape, and the LoRA pair merged into it.
    private static func llamaLayout(_ c: LlamaConfig, adapters: LoRAAdapters) -> [(String, [Int], (Int, Projection)?)] {
        var known: [(String, [Int], (Int, Projection)?)] = [("model.embed_tokens.weight", [c.vocabSize, c.hiddenSize], nil)]
        for layer in 0..<c.numLayers {
            for p in Projection.allCases {
                let adapted = adapters.pairs.indices.contains(layer) && adapters.pairs[layer][p] != nil
                known.append((p.path(layer: layer) + ".weight", p.shape(c), adapted ? (layer, p) : nil))
            }
            known.append(("model.layers.\(layer).input_layernorm.weight", [c.hiddenSize], nil))
            known.append(("model.layers.\(layer).post_attention_layernorm.weight", [c.hiddenSize], nil))
        }
        known.append(("model.norm.weight", [c.hiddenSize], nil))
        if !c.tieWordEmbeddings { known.append(("lm_head.weight", [c.vocabSize, c.hiddenSize], nil)) }
        return known
    }

    /// The plan for a GGUF base: the same Llama tensors, read dequantized (`stored` is fp32). `auto` keeps
    /// F32, F16 and BF16 tensors in their type and writes quantized ones as BF16 (their values are not
    /// exactly representable in any 16-bit type; `--dtype f32` keeps them exactly). `rope_freqs.weight`
    /// becomes config.json's `rope_scaling`; other non-Llama tensors are not written.
    init(config c: LlamaConfig, gguf file: GGUFFile, adapters: LoRAAdapters, dtype: ExportDType) throws {
        var tensors: [PlannedTensor] = []
        var seen = Set<String>()
        for (name, shape, merge) in Self.llamaLayout(c, adapters: adapters) {
            guard let ggufName = GGUFTensorNames.ggufName(forHF: name), let info = file.tensor(named: ggufName) else {
                throw LlamaError.missingTensor(file: file.path, name: GGUFTensorNames.ggufName(forHF: name) ?? name)
            }
            guard info.dimensions == Array(shape.reversed()) else {
                throw LlamaError.wrongShape(file: file.path, name: ggufName, expected: Array(shape.reversed()), found: info.dimensions)
            }
            let stored: DType
            switch info.type {
            case .f32: stored = .f32
            case .f16: stored = .f16
            case .bf16: stored = .bf16
            default: stored = .bf16
            }
            tensors.append(PlannedTensor(name: name, shape: shape, stored: .f32, target: dtype.target(for: stored),
                                         merge: merge.map { (layer: $0.0, projection: $0.1) }))
            seen.insert(ggufName)
        }
        var dropped: [(String, String)] = []
        for info in file.tensors where !seen.contains(info.name) {
            dropped.append((info.name, info.name == GGUFTensorNames.ropeFrequencies
                ? "RoPE scaling is written to config.json as rope_scaling" : "not part of the Llama layout"))
        }
        self.tensors = tensors
        self.dropped = dropped
        self.extras = []
    }

    init(config c: LlamaConfig, files: SafeTensorsCollection, adapters: LoRAAdapters, dtype: ExportDType) throws {
        var tensors: [PlannedTensor] = []
        var seen = Set<String>()
        for (name, shape, merge) in Self.llamaLayout(c, adapters: adapters) {
            guard let info = try files.info(name) else {
                throw LlamaError.missingTensor(file: files.indexPath ?? files.directory, name: name)
            }
            let path = try files.file(for: name).path
            guard info.shape == shape else {
                throw LlamaError.wrongShape(file: path, name: name, expected: shape, found: info.shape)
            }
            guard FloatCoding.isFloat(info.dtype) else {
                throw ExportError.unsupportedTensor(file: path, tensor: name, reason: "dtype \(info.dtype.rawValue); only F32, BF16 and F16 base weights can be merged (a quantized base must be dequantized first)")
            }
            tensors.append(PlannedTensor(name: name, shape: shape, stored: info.dtype, target: dtype.target(for: info.dtype),
                                         merge: merge.map { (layer: $0.0, projection: $0.1) }))
            seen.insert(name)
        }

        var dropped: [(String, String)] = []
        var extras: [String] = []
        for name in files.names where !seen.contains(name) {
            if name.hasSuffix(".rotary_emb.inv_freq") {
                dropped.append((name, "RoPE frequencies are recomputed from config.json"))
                continue
            }
            if name == "lm_head.weight" && c.tieWordEmbeddings {
                dropped.append((name, "tie_word_embeddings is true, so the output projection is the embedding"))
                continue
            }
            guard let info = try files.info(name) else { continue }
            let target = FloatCoding.isFloat(info.dtype) ? dtype.target(for: info.dtype) : info.dtype
            tensors.append(PlannedTensor(name: name, shape: info.shape, stored: info.dtype, target: target, merge: nil))
            extras.append(name)
        }
        self.tensors = tensors
        self.dropped = dropped
        self.extras = extras
    }
}
