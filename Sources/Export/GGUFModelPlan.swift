import GGUF
import Llama

/// One tensor of a GGUF export: its Hugging Face source, its GGUF name and type, and how it is made.
struct GGUFPlannedTensor {
    /// The base tensor's Hugging Face name (nil for tensors computed from the config, `rope_freqs`).
    let source: String?
    let name: String
    /// `[out, in]` or `[n]`, Hugging Face order (GGUF lists it reversed).
    let shape: [Int]
    let type: GGMLType
    /// The LoRA pair merged into it, if it is an adapted projection.
    let merge: (layer: Int, projection: Projection)?
    /// Heads whose rows are reordered to llama.cpp's RoPE layout (q: attention heads, k: KV heads).
    let permutedHeads: Int?

    var dimensions: [Int] { shape.reversed() }
    var rows: Int { shape.count == 2 ? shape[0] : 1 }
    var columns: Int { shape.count == 2 ? shape[1] : shape[0] }
}

/// The tensors of a merged Llama GGUF in llama.cpp's names and order: `token_embd`, per layer
/// `attn_norm`, `attn_q`, `attn_k`, `attn_v`, `attn_output`, `ffn_norm`, `ffn_gate`, `ffn_up`, `ffn_down`,
/// then `output_norm`, `output` (absent when the embeddings are tied: llama.cpp then uses `token_embd`)
/// and `rope_freqs` for Llama 3.1/3.2 RoPE scaling. 2-D weights take the requested type (F16 when a row
/// is not a whole number of Q8_0 blocks, as llama.cpp's converter falls back); 1-D tensors stay F32.
enum GGUFModelPlan {
    static func tensors(_ c: LlamaConfig, adapters: LoRAAdapters?, type: GGUFOutputType) -> [GGUFPlannedTensor] {
        func matrix(_ hf: String, _ shape: [Int], merge: (Int, Projection)? = nil) -> GGUFPlannedTensor {
            let wanted = type.ggmlType
            let fits = wanted.rowBytes(columns: shape[1]) != nil
            return GGUFPlannedTensor(source: hf, name: ggufName(hf), shape: shape, type: fits ? wanted : .f16,
                                     merge: merge.map { (layer: $0.0, projection: $0.1) },
                                     permutedHeads: GGUFTensorNames.permutedHeads(hfName: hf, heads: c.numHeads, kvHeads: c.numKVHeads))
        }
        func vector(_ hf: String) -> GGUFPlannedTensor {
            GGUFPlannedTensor(source: hf, name: ggufName(hf), shape: [c.hiddenSize], type: .f32, merge: nil, permutedHeads: nil)
        }
        var plan = [matrix("model.embed_tokens.weight", [c.vocabSize, c.hiddenSize])]
        for layer in 0..<c.numLayers {
            plan.append(vector("model.layers.\(layer).input_layernorm.weight"))
            for p in Projection.allCases {
                let adapted = adapters.map { $0.pairs.indices.contains(layer) && $0.pairs[layer][p] != nil } ?? false
                plan.append(matrix(p.path(layer: layer) + ".weight", p.shape(c), merge: adapted ? (layer, p) : nil))
                if p == .o { plan.append(vector("model.layers.\(layer).post_attention_layernorm.weight")) }
            }
        }
        plan.append(vector("model.norm.weight"))
        if !c.tieWordEmbeddings { plan.append(matrix("lm_head.weight", [c.vocabSize, c.hiddenSize])) }
        if c.ropeScaling != .none {
            plan.append(GGUFPlannedTensor(source: nil, name: GGUFTensorNames.ropeFrequencies, shape: [c.headDim / 2], type: .f32,
                                          merge: nil, permutedHeads: nil))
        }
        return plan
    }

    /// The GGUF name of a Llama tensor (every name the plan uses has one).
    static func ggufName(_ hf: String) -> String {
        guard let name = GGUFTensorNames.ggufName(forHF: hf) else { preconditionFailure("no GGUF name for \(hf)") }
        return name
    }

    /// llama.cpp's per-frequency RoPE divisors for Llama 3.1/3.2 scaling (`convert_hf_to_gguf.py`,
    /// `LlamaModel.generate_extra_tensors`): 1 for short wavelengths, `factor` for long ones, and the
    /// blend `1 / ((1 - s)/factor + s)` between, with `s = (old_context / wavelength - low) / (high - low)`.
    /// A GGUF base's own factors are written back unchanged.
    static func ropeFreqs(_ c: LlamaConfig) -> [Float] {
        if case .frequencyFactors(let factors) = c.ropeScaling { return factors }
        guard case let .llama3(factor, low, high, original) = c.ropeScaling else { return [] }
        let lowWavelength = original / low, highWavelength = original / high
        return (0..<(c.headDim / 2)).map { i in
            let frequency = 1 / pow(c.ropeTheta, Double(2 * i) / Double(c.headDim))
            let wavelength = 2 * Double.pi / frequency
            if wavelength < highWavelength { return 1 }
            if wavelength > lowWavelength { return Float(factor) }
            let smooth = (original / wavelength - low) / (high - low)
            return Float(1 / ((1 - smooth) / factor + smooth))
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
