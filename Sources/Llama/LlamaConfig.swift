import Foundation
import GGUF
import StrictJSON

/// RoPE frequency rule (REFERENCE §1.2, §1.5).
public enum RopeScaling: Sendable, Equatable {
    case none
    case llama3(factor: Double, lowFreqFactor: Double, highFreqFactor: Double, originalMaxPositions: Double)
    /// One divisor per frequency (`f[i] = θ^(-2i/d) / factors[i]`), as llama.cpp stores Llama 3.1/3.2
    /// scaling in GGUF files (`rope_freqs.weight`, computed by its converter from the llama3 rule).
    case frequencyFactors([Float])
}

/// The parts of a Hugging Face `config.json` for `LlamaForCausalLM` that the math needs.
///
/// Parsing is strict (REFERENCE §1.1): the class defaults are Llama 2's, so required keys are never
/// filled in silently; only the documented HF fallbacks apply (`num_key_value_heads` = heads,
/// `head_dim` = hidden / heads, `tie_word_embeddings` = false). Both the classic v4 shape
/// (`rope_theta` + `rope_scaling`) and the transformers-v5 `rope_parameters` shape are accepted.
public struct LlamaConfig: Sendable, Equatable {
    public var vocabSize: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var numLayers: Int
    public var numHeads: Int
    public var numKVHeads: Int
    public var headDim: Int
    public var rmsNormEps: Float
    public var ropeTheta: Double
    public var ropeScaling: RopeScaling
    public var tieWordEmbeddings: Bool
    public var bosTokenID: Int?
    public var eosTokenIDs: [Int]
    public var maxPositionEmbeddings: Int?
    /// `torch_dtype` or `dtype` as written ("bfloat16", "float32", …), if any.
    public var dtype: String?

    public init(vocabSize: Int, hiddenSize: Int, intermediateSize: Int, numLayers: Int, numHeads: Int, numKVHeads: Int,
                headDim: Int, rmsNormEps: Float, ropeTheta: Double, ropeScaling: RopeScaling = .none,
                tieWordEmbeddings: Bool, bosTokenID: Int? = nil, eosTokenIDs: [Int] = [], maxPositionEmbeddings: Int? = nil,
                dtype: String? = nil) {
        self.vocabSize = vocabSize; self.hiddenSize = hiddenSize; self.intermediateSize = intermediateSize
        self.numLayers = numLayers; self.numHeads = numHeads; self.numKVHeads = numKVHeads; self.headDim = headDim
        self.rmsNormEps = rmsNormEps; self.ropeTheta = ropeTheta; self.ropeScaling = ropeScaling
        self.tieWordEmbeddings = tieWordEmbeddings; self.bosTokenID = bosTokenID; self.eosTokenIDs = eosTokenIDs
        self.maxPositionEmbeddings = maxPositionEmbeddings; self.dtype = dtype
    }

    /// Reads `<directory>/config.json` (or a config file path), or a GGUF file's metadata.
    public static func load(path: String) throws -> LlamaConfig {
        if case .gguf(let file) = ModelSource(path: path) { return try LlamaConfig(gguf: GGUFFile(path: file)) }
        var isDir: ObjCBool = false
        let file = FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue
            ? (path as NSString).appendingPathComponent("config.json") : path
        guard let data = FileManager.default.contents(atPath: file) else {
            throw LlamaError.unreadable(path: file, reason: "cannot read the model config; a Hugging Face model directory has a config.json")
        }
        return try parse(data, file: file)
    }

    public static func parse(_ data: Data, file: String) throws -> LlamaConfig {
        guard let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw LlamaError.unreadable(path: file, reason: "not a JSON object")
        }
        let reader = ConfigReader(json: json, file: file)
        if let archs = json["architectures"] as? [String], !archs.contains("LlamaForCausalLM") {
            throw LlamaError.unsupported(file: file, what: "architecture \(archs) (only LlamaForCausalLM)")
        }
        if let type = try reader.optionalString("model_type"), type != "llama" {
            throw LlamaError.unsupported(file: file, what: "model_type \"\(type)\" (only \"llama\")")
        }
        if let act = try reader.optionalString("hidden_act"), act != "silu" {
            throw LlamaError.unsupported(file: file, what: "hidden_act \"\(act)\" (only \"silu\")")
        }
        for key in ["attention_bias", "mlp_bias"] {
            if try reader.bool(key, default: false) { throw LlamaError.unsupported(file: file, what: "\(key): true (Llama 3 has no biases)") }
        }
        let hidden = try reader.int("hidden_size")
        let heads = try reader.int("num_attention_heads")
        let kvHeads = try reader.optionalInt("num_key_value_heads") ?? heads
        guard heads % kvHeads == 0 else {
            throw LlamaError.badValue(file: file, key: "num_key_value_heads", reason: "\(kvHeads) does not divide num_attention_heads \(heads)")
        }
        let headDim = try reader.optionalInt("head_dim") ?? hidden / heads
        guard headDim > 0, headDim % 2 == 0 else {
            throw LlamaError.badValue(file: file, key: "head_dim", reason: "\(headDim) must be a positive even number")
        }
        guard let eps = try reader.optionalNumber("rms_norm_eps") else {
            throw LlamaError.missingKey(file: file, key: "rms_norm_eps", hint: "Llama 3 uses 1e-5; the transformers default (1e-6) is not assumed.")
        }
        guard eps > 0 else { throw LlamaError.badValue(file: file, key: "rms_norm_eps", reason: "expected a positive number, found \(eps)") }

        // RoPE: params = rope_parameters ?? rope_scaling; theta inside params or at top level.
        let ropeKey = try reader.optionalObject("rope_parameters") != nil ? "rope_parameters" : "rope_scaling"
        let params = try reader.optionalObject(ropeKey)
        guard let theta = try params?.optionalNumber("rope_theta") ?? reader.optionalNumber("rope_theta") else {
            throw LlamaError.missingKey(file: file, key: "rope_theta", hint: "Llama 3 uses 500000; it must be given explicitly (no 10000 fallback).")
        }
        let type = try params?.optionalString("rope_type") ?? params?.optionalString("type") ?? "default"
        guard theta > 0, theta.isFinite else {
            throw LlamaError.badValue(file: file, key: "rope_theta", reason: "\(theta) must be a positive number (Llama 3 uses 500000)")
        }
        let scaling: RopeScaling
        switch type {
        case "default":
            scaling = .none
        case "llama3":
            func num(_ k: String) throws -> Double {
                guard let v = try params?.optionalNumber(k) else {
                    throw LlamaError.missingKey(file: file, key: "\(ropeKey).\(k)", hint: "the llama3 rope rule needs factor, low_freq_factor, high_freq_factor and original_max_position_embeddings.")
                }
                return v
            }
            let factor = try num("factor"), low = try num("low_freq_factor"), high = try num("high_freq_factor")
            let original = try num("original_max_position_embeddings")
            // The llama3 rule divides by each of these and by high − low: zero or negative values give
            // infinite or NaN frequencies (Llama 3.1 uses 8, 1, 4, 8192).
            for (k, v) in [("factor", factor), ("low_freq_factor", low), ("original_max_position_embeddings", original)] where !(v > 0 && v.isFinite) {
                throw LlamaError.badValue(file: file, key: "\(ropeKey).\(k)", reason: "\(v) must be a positive number (Llama 3.1 uses factor 8, low_freq_factor 1, high_freq_factor 4, original_max_position_embeddings 8192)")
            }
            guard high > low, high.isFinite else {
                throw LlamaError.badValue(file: file, key: "\(ropeKey).high_freq_factor", reason: "\(high) must be greater than low_freq_factor \(low) (Llama 3.1 uses 4 and 1)")
            }
            scaling = .llama3(factor: factor, lowFreqFactor: low, highFreqFactor: high, originalMaxPositions: original)
        default:
            throw LlamaError.unsupported(file: file, what: "\(ropeKey) type \"\(type)\" (supported: default, llama3)")
        }

        // eos_token_id: one id or a list of ids.
        var eos: [Int] = []
        if let list = json["eos_token_id"] as? [Any] {
            eos = try list.map { item in
                guard let id = JSONField.integer(item), id >= 0 else {
                    throw LlamaError.badValue(file: file, key: "eos_token_id", reason: "expected token ids (integers ≥ 0), found \(item)")
                }
                return id
            }
        } else if let id = try reader.optionalID("eos_token_id") {
            eos = [id]
        }

        // Bounds far above any Llama (vocab 128256, hidden 16384, 126 layers, 128 heads) that keep every
        // size product (the parameter count, a layer's buffers) from overflowing; larger is a broken file.
        let vocab = try reader.int("vocab_size"), intermediate = try reader.int("intermediate_size")
        let layers = try reader.int("num_hidden_layers")
        for (key, value, limit) in [("vocab_size", vocab, 1 << 22), ("hidden_size", hidden, 1 << 17), ("intermediate_size", intermediate, 1 << 19),
                                    ("num_hidden_layers", layers, 1 << 12), ("num_attention_heads", heads, 1 << 12),
                                    ("num_key_value_heads", kvHeads, 1 << 12), ("head_dim", headDim, 1 << 12)] where value > limit {
            throw LlamaError.badValue(file: file, key: key, reason: "\(value) is beyond any supported model (at most \(limit)); is this file damaged?")
        }
        return LlamaConfig(
            vocabSize: vocab, hiddenSize: hidden,
            intermediateSize: intermediate, numLayers: layers,
            numHeads: heads, numKVHeads: kvHeads, headDim: headDim, rmsNormEps: Float(eps), ropeTheta: theta,
            ropeScaling: scaling, tieWordEmbeddings: try reader.bool("tie_word_embeddings", default: false),
            bosTokenID: try reader.optionalID("bos_token_id"), eosTokenIDs: eos,
            maxPositionEmbeddings: try reader.optionalInt("max_position_embeddings"),
            dtype: try reader.optionalString("torch_dtype") ?? reader.optionalString("dtype"))
    }

    /// Parameters of the base model (REFERENCE §1.1 formula).
    public var parameterCount: Int {
        let d = hiddenSize, h = numHeads * headDim, g = numKVHeads * headDim, i = intermediateSize
        let perLayer = d * h + 2 * d * g + h * d + 3 * d * i + 2 * d
        return numLayers * perLayer + vocabSize * d * (tieWordEmbeddings ? 1 : 2) + d
    }
}
