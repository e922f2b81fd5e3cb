import Foundation
import GGUF
import Llama
import Tokenizer

/// The non-weight files of a Hugging Face model directory exported from a GGUF base, made from the GGUF's
/// metadata (docs/gguf.md, A Hugging Face model from a GGUF base): `config.json` (LlamaForCausalLM),
/// `generation_config.json`, `tokenizer.json` and `tokenizer_config.json`.
enum GGUFBaseModelFiles {
    /// Writes the four files into `directory`. `format` is the chat format the model was trained in (the
    /// run's recipe or `--template`); without one the GGUF's own `tokenizer.chat_template` is kept.
    static func write(gguf file: GGUFFile, config c: LlamaConfig, vocabulary v: GGUFVocabulary, format: ChatFormat?,
                      dtypeName: String, into directory: String, log: (String) -> Void) throws {
        let scaling: RopeScaling
        if case .frequencyFactors(let factors) = c.ropeScaling {
            scaling = try RopeScalingRecovery.llama3(factors: factors, config: c, path: file.path)
            log("rope_scaling from rope_freqs.weight: \(RopeScalingRecovery.json(scaling).replacingOccurrences(of: "\n", with: " "))")
        } else {
            scaling = c.ropeScaling
        }
        func token(_ key: String) -> (id: Int, text: String)? {
            guard let id = file[key]?.intValue, v.tokens.indices.contains(id) else { return nil }
            return (id, v.tokens[id])
        }
        let bos = token("tokenizer.ggml.bos_token_id")
        let ggufEOS = token("tokenizer.ggml.eos_token_id")
        // The end-of-turn token of the trained format is what an answer ends with: it is the EOS of the
        // tokenizer, and generation stops at it as well as at the base's own end tokens.
        let endOfTurn = format.flatMap { f in v.id(of: f.endOfTurnToken).map { (id: $0, text: f.endOfTurnToken) } } ?? ggufEOS
        var stops: [Int] = []
        for id in [endOfTurn?.id].compactMap({ $0 }) + c.eosTokenIDs where !stops.contains(id) { stops.append(id) }

        try ModelDirectoryFiles.write(configJSON(c, scaling: scaling, bos: bos?.id, eos: ggufEOS?.id ?? stops.first, dtypeName: dtypeName),
                                      to: join(directory, "config.json"))
        var generation = c
        generation.eosTokenIDs = stops
        try ModelDirectoryFiles.write(try ModelDirectoryFiles.generationConfig(baseText: nil, config: generation, llama3Tokenizer: false,
                                                                               path: join(directory, "generation_config.json")),
                                      to: join(directory, "generation_config.json"))

        // llama.cpp adds BOS for Llama 3 (llama-bpe) unless the file says otherwise.
        let addsBOS = file["tokenizer.ggml.add_bos_token"]?.boolValue ?? (PreTokenizerStep.llamaCppNames[v.pre]?.ignoresMerges ?? false)
        try ModelDirectoryFiles.write(try tokenizerJSON(v, bos: addsBOS ? bos : nil, path: file.path), to: join(directory, "tokenizer.json"))

        let template = format?.jinja ?? file["tokenizer.chat_template"]?.stringValue
        if format == nil { log("chat template: the GGUF's own tokenizer.chat_template (no recipe or --template names the trained one)") }
        var members: [(String, String)] = [
            ("add_bos_token", addsBOS ? "true" : "false"),
            ("add_eos_token", "false"),
            ("clean_up_tokenization_spaces", "false"),
            ("model_max_length", String(c.maxPositionEmbeddings ?? 2048)),
            ("tokenizer_class", JSONTextEdit.jsonString("PreTrainedTokenizerFast")),
        ]
        if let bos { members.append(("bos_token", JSONTextEdit.jsonString(bos.text))) }
        if let endOfTurn { members.append(("eos_token", JSONTextEdit.jsonString(endOfTurn.text))) }
        if let pad = token("tokenizer.ggml.padding_token_id") { members.append(("pad_token", JSONTextEdit.jsonString(pad.text))) }
        if let unknown = token("tokenizer.ggml.unknown_token_id") { members.append(("unk_token", JSONTextEdit.jsonString(unknown.text))) }
        if let template { members.append(("chat_template", JSONTextEdit.jsonString(template))) }
        try ModelDirectoryFiles.write(object(members), to: join(directory, "tokenizer_config.json"))
    }

    /// `tokenizer.json` for a GGUF vocabulary: CONTROL tokens special, USER_DEFINED ones plain added tokens,
    /// the pre-tokenizer `tokenizer.ggml.pre` names, and `bos` put before every sequence when given.
    static func tokenizerJSON(_ v: GGUFVocabulary, bos: (id: Int, text: String)?, path: String) throws -> Data {
        guard let known = PreTokenizerStep.llamaCppNames[v.pre] else {
            throw ExportError.unsupportedTensor(file: path, tensor: "tokenizer.ggml.pre", reason: "\"\(v.pre)\" is not a pre-tokenizer this "
                + "export can write to tokenizer.json (known: \(PreTokenizerStep.llamaCppNames.keys.sorted().joined(separator: ", ")))")
        }
        var added: [TokenizerJSONWriter.AddedToken] = []
        for (id, type) in v.types.enumerated() {
            if type == GGUFVocabulary.TokenType.control { added.append(.init(id: id, content: v.tokens[id], special: true)) }
            if type == GGUFVocabulary.TokenType.userDefined { added.append(.init(id: id, content: v.tokens[id], special: false)) }
        }
        return try TokenizerJSONWriter.data(tokens: v.tokens, added: added, merges: v.merges, preTokenizer: known.steps,
                                            ignoresMerges: known.ignoresMerges, bos: bos.map { ($0.id, $0.text) })
    }

    /// `config.json` as transformers writes it (sorted keys, two-space indent).
    static func configJSON(_ c: LlamaConfig, scaling: RopeScaling, bos: Int?, eos: Int?, dtypeName: String) -> String {
        var members: [(String, String)] = [
            ("architectures", "[\n    \"LlamaForCausalLM\"\n  ]"),
            ("attention_bias", "false"),
            ("attention_dropout", "0.0"),
            ("head_dim", String(c.headDim)),
            ("hidden_act", "\"silu\""),
            ("hidden_size", String(c.hiddenSize)),
            ("initializer_range", "0.02"),
            ("intermediate_size", String(c.intermediateSize)),
            ("max_position_embeddings", String(c.maxPositionEmbeddings ?? 2048)),
            ("mlp_bias", "false"),
            ("model_type", "\"llama\""),
            ("num_attention_heads", String(c.numHeads)),
            ("num_hidden_layers", String(c.numLayers)),
            ("num_key_value_heads", String(c.numKVHeads)),
            ("pretraining_tp", "1"),
            // The shortest decimal of the fp32 value, which reads back as the same fp32 (1e-05, not 9.99999974e-06).
            ("rms_norm_eps", c.rmsNormEps.description),
            ("rope_scaling", RopeScalingRecovery.json(scaling)),
            ("rope_theta", c.ropeTheta.description),
            ("tie_word_embeddings", c.tieWordEmbeddings ? "true" : "false"),
            ("torch_dtype", JSONTextEdit.jsonString(dtypeName)),
            ("use_cache", "true"),
            ("vocab_size", String(c.vocabSize)),
        ]
        if let bos { members.append(("bos_token_id", String(bos))) }
        if let eos { members.append(("eos_token_id", String(eos))) }
        return object(members)
    }

    /// A JSON object from pre-formatted member values, keys sorted, two-space indent, trailing newline.
    private static func object(_ members: [(String, String)]) -> String {
        "{\n" + members.sorted { $0.0 < $1.0 }.map { "  \(JSONTextEdit.jsonString($0.0)): \($0.1)" }.joined(separator: ",\n") + "\n}\n"
    }
}
