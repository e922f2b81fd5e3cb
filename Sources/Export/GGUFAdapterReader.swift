import GGUF
import Llama
import Tensors
import Autodiff

/// Reads a llama.cpp LoRA adapter GGUF back into ``LoRAAdapters`` (Hugging Face row order), for the
/// export's round-trip check: `<blk.N.attn_q.weight>.lora_a` ne `[in, r]` → A `[r, in]`, `.lora_b` ne
/// `[r, out]` → B `[out, r]` with q/k rows returned from llama.cpp's RoPE order, scale = alpha / r.
enum GGUFAdapterReader {
    static func load(path: String, model c: LlamaConfig) throws -> LoRAAdapters {
        func bad(_ reason: String) -> ExportError { .notASource(path: path, reason: reason) }
        let file = try GGUFFile(path: path)
        guard file["general.type"]?.stringValue == "adapter", file["adapter.type"]?.stringValue == "lora" else {
            throw bad("general.type is not \"adapter\" or adapter.type is not \"lora\"")
        }
        guard case .float32(let alpha)? = file["adapter.lora.alpha"] else { throw bad("adapter.lora.alpha (FLOAT32) is missing") }
        var pairs = [[Projection: LoRAPair]](repeating: [:], count: c.numLayers)
        var rank: Int?
        var targets: [Projection] = []
        for layer in 0..<c.numLayers {
            for p in Projection.allCases {
                let hf = p.path(layer: layer) + ".weight"
                let name = GGUFModelPlan.ggufName(hf)
                let a = file.tensor(named: name + ".lora_a"), b = file.tensor(named: name + ".lora_b")
                guard let a, let b else {
                    if a != nil || b != nil { throw bad("\(name) has only one of .lora_a and .lora_b") }
                    continue
                }
                let shape = p.shape(c)
                let r = a.dimensions.count == 2 ? a.dimensions[1] : -1
                guard a.type == .f32, b.type == .f32, a.dimensions == [shape[1], r], b.dimensions == [r, shape[0]], r > 0, rank ?? r == r else {
                    throw bad("\(name).lora_a/.lora_b are \(a.type) \(a.dimensions) and \(b.type) \(b.dimensions); expected F32 [\(shape[1]), r] and [r, \(shape[0])]")
                }
                rank = r
                if !targets.contains(p) { targets.append(p) }
                let aT = Tensor(uninitialized: [r, shape[1]]), bT = Tensor(uninitialized: [shape[0], r])
                try file.dequantize(a, into: aT.data)
                let heads = GGUFTensorNames.permutedHeads(hfName: hf, heads: c.numHeads, kvHeads: c.numKVHeads)
                let sources = heads.map { GGUFRoPEPermutation.toHF(rows: shape[0], heads: $0) } ?? Array(0..<shape[0])
                GGUFRoPEPermutation.apply(sources, rowBytes: r * 4, from: file.bytes(of: b).baseAddress!, to: bT.data)
                pairs[layer][p] = LoRAPair(a: Variable(aT, requiresGrad: false), b: Variable(bT, requiresGrad: false))
            }
        }
        guard let rank else { throw bad("it holds no .lora_a/.lora_b pair for this model's projections") }
        return LoRAAdapters(config: LoRAConfig(rank: rank, alpha: Double(alpha), targets: targets), pairs: pairs)
    }
}
