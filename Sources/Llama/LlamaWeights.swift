import Foundation
import GGUF
import SafeTensors
import Tensors

/// One decoder layer's frozen weights (HF names, docs/formats.md, Tensor names).
public struct LayerWeights: Sendable {
    public let inputNorm: Tensor          // input_layernorm [D]
    public let postAttentionNorm: Tensor  // post_attention_layernorm [D]
    public let projections: [Projection: FrozenWeight]
    /// q, k, v stacked by rows `[H·d + 2·G·d, D]`, and gate, up `[2·I, D]`: each group is one GEMM.
    /// fp32 projections above are views into these (no duplicated memory).
    public let qkv: FrozenWeight
    public let gateUp: FrozenWeight

    public init(inputNorm: Tensor, postAttentionNorm: Tensor, projections: [Projection: FrozenWeight]) {
        // The fp32 parts the previous layer copied into its stacks went back to the tensor pool when
        // the loader dropped them: return them to the system, or a loaded model holds its q, k, v,
        // gate and up twice until the pool is trimmed.
        BufferPool.shared.trim()
        self.inputNorm = inputNorm
        self.postAttentionNorm = postAttentionNorm
        var p = projections
        let attention = FrozenWeight.stack([p[.q]!, p[.k]!, p[.v]!])
        let mlp = FrozenWeight.stack([p[.gate]!, p[.up]!])
        (p[.q], p[.k], p[.v]) = (attention.parts[0], attention.parts[1], attention.parts[2])
        (p[.gate], p[.up]) = (mlp.parts[0], mlp.parts[1])
        self.projections = p
        qkv = attention.stacked
        gateUp = mlp.stacked
    }

    public subscript(_ p: Projection) -> FrozenWeight { projections[p]! }
}

/// The seven linear projections of a decoder layer, by their HF / PEFT module names.
public enum Projection: String, CaseIterable, Sendable, Codable {
    case q = "q_proj", k = "k_proj", v = "v_proj", o = "o_proj"
    case gate = "gate_proj", up = "up_proj", down = "down_proj"

    /// `self_attn` or `mlp`: the HF module path between the layer and the projection.
    public var module: String {
        switch self {
        case .q, .k, .v, .o: return "self_attn"
        case .gate, .up, .down: return "mlp"
        }
    }

    /// `[out, in]` for this projection.
    public func shape(_ c: LlamaConfig) -> [Int] {
        let d = c.hiddenSize, qd = c.numHeads * c.headDim, kvd = c.numKVHeads * c.headDim, i = c.intermediateSize
        switch self {
        case .q: return [qd, d]
        case .k, .v: return [kvd, d]
        case .o: return [d, qd]
        case .gate, .up: return [i, d]
        case .down: return [d, i]
        }
    }

    /// `model.layers.{layer}.{module}.{name}` (append `.weight` for the base tensor).
    public func path(layer: Int) -> String { "model.layers.\(layer).\(module).\(rawValue)" }
}

/// All frozen base weights of a Llama model.
///
/// 16-bit tensors stay in the memory-mapped file and are widened per use; with `cacheFloat32` the
/// projections are widened once at load (faster steps, 2x the memory of bf16).
public final class LlamaWeights: @unchecked Sendable {
    public let config: LlamaConfig
    public let embedding: FrozenWeight       // model.embed_tokens.weight [V, D]
    public let layers: [LayerWeights]
    public let finalNorm: Tensor             // model.norm.weight [D]
    public let lmHead: FrozenWeight          // lm_head.weight, or the embedding itself when tied
    /// The files behind the mapped tensors (kept open while the weights live).
    public let source: SafeTensorsCollection?
    /// The GGUF file behind the weights, when the model came from one.
    public let gguf: GGUFFile?

    public init(config: LlamaConfig, embedding: FrozenWeight, layers: [LayerWeights], finalNorm: Tensor,
                lmHead: FrozenWeight, source: SafeTensorsCollection? = nil, gguf: GGUFFile? = nil) {
        self.config = config; self.embedding = embedding; self.layers = layers
        self.finalNorm = finalNorm; self.lmHead = lmHead; self.source = source; self.gguf = gguf
    }

    /// Loads `model.safetensors` or the shards of `model.safetensors.index.json` from `directory`
    /// (or the tensors of a GGUF file, when `directory` is one: see `ModelSource`).
    public static func load(directory: String, config: LlamaConfig, cacheFloat32: Bool = false) throws -> LlamaWeights {
        if case .gguf(let path) = ModelSource(path: directory) {
            return try load(gguf: GGUFFile(path: path), config: config, cacheFloat32: cacheFloat32)
        }
        let files = try SafeTensorsCollection(directory: directory)
        let c = config
        func matrix(_ name: String, _ shape: [Int]) throws -> FrozenWeight {
            let w = try frozen(files, name, shape, directory: directory)
            return cacheFloat32 ? w.widened() : w
        }
        func vector(_ name: String) throws -> Tensor {
            try frozen(files, name, [c.hiddenSize], directory: directory).toTensor().reshaped([c.hiddenSize])
        }
        let embedding = try frozen(files, "model.embed_tokens.weight", [c.vocabSize, c.hiddenSize], directory: directory)
        return try assemble(config: c, embedding: embedding, matrix: matrix, vector: vector, source: files)
    }

    /// The model from its tensors by Hugging Face name: the one list of the names a Llama checkpoint
    /// holds, shared by the safetensors and the GGUF loader (which maps the names to GGUF's).
    static func assemble(config c: LlamaConfig, embedding: FrozenWeight,
                         matrix: (String, [Int]) throws -> FrozenWeight, vector: (String) throws -> Tensor,
                         source: SafeTensorsCollection? = nil, gguf: GGUFFile? = nil) throws -> LlamaWeights {
        var layers: [LayerWeights] = []
        for l in 0..<c.numLayers {
            var projections: [Projection: FrozenWeight] = [:]
            for p in Projection.allCases { projections[p] = try matrix(p.path(layer: l) + ".weight", p.shape(c)) }
            layers.append(LayerWeights(
                inputNorm: try vector("model.layers.\(l).input_layernorm.weight"),
                postAttentionNorm: try vector("model.layers.\(l).post_attention_layernorm.weight"),
                projections: projections))
        }
        let lmHead = c.tieWordEmbeddings ? embedding : try matrix("lm_head.weight", [c.vocabSize, c.hiddenSize])
        return LlamaWeights(config: c, embedding: embedding, layers: layers, finalNorm: try vector("model.norm.weight"),
                            lmHead: lmHead, source: source, gguf: gguf)
    }

    /// A tensor as a `FrozenWeight` in its file dtype: F32 is copied into aligned storage, BF16/F16 are
    /// used in place from the mapping. Shape and dtype are checked against the config.
    static func frozen(_ files: SafeTensorsCollection, _ name: String, _ shape: [Int], directory: String) throws -> FrozenWeight {
        guard let info = try files.info(name) else { throw LlamaError.missingTensor(file: directory, name: name) }
        guard info.shape == shape || (shape.count == 1 && info.shape == [shape[0]]) else {
            throw LlamaError.wrongShape(file: try files.file(for: name).path, name: name, expected: shape, found: info.shape)
        }
        let rows = shape.count == 2 ? shape[0] : 1, cols = shape.count == 2 ? shape[1] : shape[0]
        let file = try files.file(for: name)
        switch info.dtype {
        case .f32:
            let t = Tensor(uninitialized: [rows, cols])
            try files.readFloat32(name, into: t.data, count: t.count)
            return FrozenWeight(t)
        case .bf16, .f16:
            let raw = try files.rawBytes(name)
            guard let base = raw.baseAddress, Int(bitPattern: base) % 2 == 0 else {
                // A misaligned 16-bit tensor (never written by HF tools) is widened instead of mapped.
                let t = Tensor(uninitialized: [rows, cols])
                try files.readFloat32(name, into: t.data, count: t.count)
                return FrozenWeight(t)
            }
            let p = base.assumingMemoryBound(to: UInt16.self)
            return FrozenWeight(rows: rows, columns: cols, storage: info.dtype == .bf16 ? .bfloat16(p) : .float16(p), owner: file)
        default:
            throw LlamaError.unsupportedDType(file: file.path, name: name, dtype: info.dtype.rawValue)
        }
    }
}
