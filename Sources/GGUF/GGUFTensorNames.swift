/// The one mapping between llama.cpp's GGUF tensor names and Hugging Face `LlamaForCausalLM` names.
///
/// GGUF (llama.cpp `llm_tensor` names)    Hugging Face
/// `token_embd.weight`                     `model.embed_tokens.weight`
/// `blk.N.attn_norm.weight`                `model.layers.N.input_layernorm.weight`
/// `blk.N.attn_q|attn_k|attn_v.weight`     `model.layers.N.self_attn.q_proj|k_proj|v_proj.weight`
/// `blk.N.attn_output.weight`              `model.layers.N.self_attn.o_proj.weight`
/// `blk.N.ffn_norm.weight`                 `model.layers.N.post_attention_layernorm.weight`
/// `blk.N.ffn_gate|ffn_up|ffn_down.weight` `model.layers.N.mlp.gate_proj|up_proj|down_proj.weight`
/// `output_norm.weight`                    `model.norm.weight`
/// `output.weight`                         `lm_head.weight` (absent when the output is tied)
/// `rope_freqs.weight`                     none: Llama 3.1/3.2 RoPE scaling factors, one per dimension pair
///
/// Shapes: GGUF lists dims fastest-first, so a `[out, in]` HF matrix is `ne = [in, out]` in GGUF;
/// the bytes are the same row-major matrix.
public enum GGUFTensorNames {
    /// llama.cpp's per-dimension RoPE frequency factors (Llama 3.1/3.2 scaling).
    public static let ropeFrequencies = "rope_freqs.weight"

    /// (GGUF, HF) module names outside the decoder layers.
    static let global: [(gguf: String, hf: String)] = [
        ("token_embd", "model.embed_tokens"),
        ("output_norm", "model.norm"),
        ("output", "lm_head"),
    ]

    /// (GGUF, HF) module names inside decoder layer N (`blk.N.` ↔ `model.layers.N.`).
    static let perLayer: [(gguf: String, hf: String)] = [
        ("attn_norm", "input_layernorm"),
        ("attn_q", "self_attn.q_proj"),
        ("attn_k", "self_attn.k_proj"),
        ("attn_v", "self_attn.v_proj"),
        ("attn_output", "self_attn.o_proj"),
        ("ffn_norm", "post_attention_layernorm"),
        ("ffn_gate", "mlp.gate_proj"),
        ("ffn_up", "mlp.up_proj"),
        ("ffn_down", "mlp.down_proj"),
    ]

    /// The HF name of a GGUF tensor (`blk.3.attn_q.weight` → `model.layers.3.self_attn.q_proj.weight`),
    /// or nil when the name is not part of a Llama model (e.g. `rope_freqs.weight`).
    public static func hfName(forGGUF name: String) -> String? {
        guard let (module, suffix) = splitSuffix(name) else { return nil }
        if let pair = global.first(where: { $0.gguf == module }) { return pair.hf + suffix }
        let parts = module.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "blk", let layer = Int(parts[1]), layer >= 0, String(layer) == parts[1],
              let pair = perLayer.first(where: { $0.gguf == parts[2] }) else { return nil }
        return "model.layers.\(layer).\(pair.hf)" + suffix
    }

    /// The GGUF name of an HF tensor (`model.norm.weight` → `output_norm.weight`), or nil when unknown.
    public static func ggufName(forHF name: String) -> String? {
        guard let (module, suffix) = splitSuffix(name) else { return nil }
        if let pair = global.first(where: { $0.hf == module }) { return pair.gguf + suffix }
        let prefix = "model.layers."
        guard module.hasPrefix(prefix) else { return nil }
        let rest = module.dropFirst(prefix.count)
        guard let dot = rest.firstIndex(of: "."), let layer = Int(rest[..<dot]), layer >= 0, String(layer) == rest[..<dot],
              let pair = perLayer.first(where: { $0.hf == rest[rest.index(after: dot)...] }) else { return nil }
        return "blk.\(layer).\(pair.gguf)" + suffix
    }

    /// Which head count llama.cpp's converter permuted an HF tensor's rows with: q uses the attention
    /// heads, k the key/value heads; nil for every other tensor.
    public static func permutedHeads(hfName name: String, heads: Int, kvHeads: Int) -> Int? {
        if name.hasSuffix(".self_attn.q_proj.weight") { return heads }
        if name.hasSuffix(".self_attn.k_proj.weight") { return kvHeads }
        return nil
    }

    /// `blk.0.attn_q.weight` → (`blk.0.attn_q`, `.weight`); names end in `.weight` (or `.bias`).
    private static func splitSuffix(_ name: String) -> (String, String)? {
        for suffix in [".weight", ".bias"] where name.hasSuffix(suffix) {
            return (String(name.dropLast(suffix.count)), suffix)
        }
        return nil
    }
}

/// llama.cpp's q/k row permutation for its RoPE layout.
///
/// Hugging Face Llama rotates dimension i with i + d/2 inside each head ("rotate half"); ggml's
/// `LLAMA_ROPE_TYPE_NORM` rotates adjacent pairs (2i, 2i+1). `convert_hf_to_gguf.py` (`LlamaModel.permute`)
/// therefore reshapes each head's d rows as `[2, d/2]` and transposes them to `[d/2, 2]` before writing:
/// GGUF row `h·d + 2i + j` holds HF row `h·d + j·d/2 + i` (h head, i < d/2, j ∈ {0, 1}). q is permuted with
/// the attention head count and k with the key/value head count. Reading a GGUF file undoes it
/// (`toHF`); writing one applies it (`toGGUF`). Whole rows move, so it works on quantized rows too.
public enum GGUFRoPEPermutation {
    /// `sources[r]` = the GGUF row that becomes HF row `r`. `rows` must be a multiple of `2·heads`.
    public static func toHF(rows: Int, heads: Int) -> [Int] {
        precondition(heads > 0 && rows % (2 * heads) == 0, "RoPE permutation: \(rows) rows do not split into \(heads) heads of even size")
        let d = rows / heads, half = d / 2
        var sources = [Int](repeating: 0, count: rows)
        for h in 0..<heads {
            for j in 0..<2 {
                for i in 0..<half { sources[h * d + j * half + i] = h * d + 2 * i + j }
            }
        }
        return sources
    }

    /// `sources[r]` = the HF row that becomes GGUF row `r` (the converter's forward permutation).
    public static func toGGUF(rows: Int, heads: Int) -> [Int] {
        let inverse = toHF(rows: rows, heads: heads)
        var sources = [Int](repeating: 0, count: rows)
        for (hfRow, ggufRow) in inverse.enumerated() { sources[ggufRow] = hfRow }
        return sources
    }

    /// Copies whole rows: `dst` row r = `src` row `sources[r]`, each `rowBytes` long. `src` and `dst` must not overlap.
    public static func apply(_ sources: [Int], rowBytes: Int, from src: UnsafeRawPointer, to dst: UnsafeMutableRawPointer) {
        for (r, s) in sources.enumerated() {
            (dst + r * rowBytes).copyMemory(from: src + s * rowBytes, byteCount: rowBytes)
        }
    }
}
