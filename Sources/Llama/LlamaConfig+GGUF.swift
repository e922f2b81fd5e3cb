import GGUF

extension LlamaConfig {
    /// The model config from a GGUF file's `llama.*` metadata (llama.cpp's key names).
    ///
    /// Read: `general.architecture` (must be `llama`), `llama.block_count`, `embedding_length`,
    /// `feed_forward_length`, `attention.head_count`, `attention.head_count_kv` (default: head_count),
    /// `attention.key_length` (default: embedding_length / head_count), `rope.freq_base` (llama.cpp's
    /// default 10000 when absent), `attention.layer_norm_rms_epsilon`, `context_length`; the vocabulary
    /// size from `token_embd.weight`; a tied output when there is no `output.weight`; Llama 3.1/3.2 RoPE
    /// scaling from the `rope_freqs.weight` tensor; BOS/EOS (and end-of-turn) ids from `tokenizer.ggml.*`.
    /// Refused: mixture-of-experts files (`llama.expert_count` > 0), partial rotary dims, and the linear
    /// or YaRN rope scaling types.
    public init(gguf file: GGUFFile) throws {
        let path = file.path
        func value(_ key: String) -> GGUFValue? { file[key] }
        func int(_ key: String, required: Bool = true) throws -> Int? {
            guard let v = value(key) else {
                if required { throw LlamaError.missingKey(file: path, key: key, hint: "llama.cpp's converter always writes it for Llama models; the file is incomplete.") }
                return nil
            }
            guard let n = v.intValue, n > 0 else {
                throw LlamaError.badValue(file: path, key: key, reason: "expected a positive integer, found \(v.summary)")
            }
            return n
        }
        func number(_ key: String) throws -> Double? {
            guard let v = value(key) else { return nil }
            guard let x = v.doubleValue, x.isFinite, x > 0 else {
                throw LlamaError.badValue(file: path, key: key, reason: "expected a positive number, found \(v.summary)")
            }
            return x
        }

        guard let arch = value("general.architecture") else {
            throw LlamaError.missingKey(file: path, key: "general.architecture", hint: "every GGUF model names its architecture.")
        }
        guard arch.stringValue == "llama" else {
            throw LlamaError.unsupported(file: path, what: "general.architecture \(arch.summary) (only \"llama\": Llama 3, SmolLM2, TinyLlama)")
        }
        if let experts = value("llama.expert_count")?.intValue, experts > 0 {
            throw LlamaError.unsupported(file: path, what: "a mixture-of-experts model (llama.expert_count \(experts))")
        }
        let hidden = try int("llama.embedding_length")!
        let heads = try int("llama.attention.head_count")!
        let kvHeads = try int("llama.attention.head_count_kv", required: false) ?? heads
        guard heads % kvHeads == 0 else {
            throw LlamaError.badValue(file: path, key: "llama.attention.head_count_kv", reason: "\(kvHeads) does not divide llama.attention.head_count \(heads)")
        }
        let headDim = try int("llama.attention.key_length", required: false) ?? hidden / heads
        guard headDim % 2 == 0 else {
            throw LlamaError.badValue(file: path, key: "llama.attention.key_length", reason: "\(headDim) must be even")
        }
        if let valueLength = try int("llama.attention.value_length", required: false), valueLength != headDim {
            throw LlamaError.unsupported(file: path, what: "llama.attention.value_length \(valueLength) different from the key length \(headDim)")
        }
        if let rotary = try int("llama.rope.dimension_count", required: false), rotary != headDim {
            throw LlamaError.unsupported(file: path, what: "llama.rope.dimension_count \(rotary): RoPE on part of the head (\(headDim) dims)")
        }
        if let type = value("llama.rope.scaling.type")?.stringValue, type != "none" {
            throw LlamaError.unsupported(file: path, what: "llama.rope.scaling.type \"\(type)\" (Llama 3.1/3.2 scaling comes as rope_freqs.weight)")
        }
        guard let eps = try number("llama.attention.layer_norm_rms_epsilon") else {
            throw LlamaError.missingKey(file: path, key: "llama.attention.layer_norm_rms_epsilon", hint: "Llama 3 uses 1e-5; the file is incomplete.")
        }

        guard let embedding = file.tensor(named: "token_embd.weight") else {
            throw LlamaError.missingTensor(file: path, name: "token_embd.weight")
        }
        guard embedding.dimensions.count == 2, embedding.dimensions[0] == hidden else {
            throw LlamaError.wrongShape(file: path, name: "token_embd.weight", expected: [hidden, -1], found: embedding.dimensions)
        }
        let vocab = embedding.dimensions[1]
        if let declared = try int("llama.vocab_size", required: false), declared != vocab {
            throw LlamaError.badValue(file: path, key: "llama.vocab_size", reason: "\(declared) differs from token_embd.weight's \(vocab) rows")
        }

        var scaling = RopeScaling.none
        if let freqs = file.tensor(named: GGUFTensorNames.ropeFrequencies) {
            guard freqs.dimensions == [headDim / 2] else {
                throw LlamaError.wrongShape(file: path, name: GGUFTensorNames.ropeFrequencies, expected: [headDim / 2], found: freqs.dimensions)
            }
            var factors = [Float](repeating: 0, count: headDim / 2)
            try factors.withUnsafeMutableBufferPointer { try file.dequantize(freqs, into: $0.baseAddress!) }
            guard factors.allSatisfy({ $0.isFinite && $0 > 0 }) else {
                throw LlamaError.badValue(file: path, key: GGUFTensorNames.ropeFrequencies, reason: "the factors must be positive and finite")
            }
            scaling = .frequencyFactors(factors)
        }

        var eos: [Int] = []
        for key in ["tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"] {
            if let id = value(key)?.intValue, !eos.contains(id) { eos.append(id) }
        }
        self.init(vocabSize: vocab, hiddenSize: hidden, intermediateSize: try int("llama.feed_forward_length")!,
                  numLayers: try int("llama.block_count")!, numHeads: heads, numKVHeads: kvHeads, headDim: headDim,
                  rmsNormEps: Float(eps), ropeTheta: try number("llama.rope.freq_base") ?? 10000, ropeScaling: scaling,
                  tieWordEmbeddings: file.tensor(named: "output.weight") == nil,
                  bosTokenID: value("tokenizer.ggml.bos_token_id")?.intValue, eosTokenIDs: eos,
                  maxPositionEmbeddings: try int("llama.context_length", required: false), dtype: nil)
    }
}
