import ChatData
import Foundation
import Llama
import SafeTensors
import Tokenizer

/// Makes a small Llama-architecture base model from scratch: a byte-level BPE tokenizer trained on a
/// chat dataset (with the Llama 3 chat special tokens) and randomly initialised bf16 weights. This is
/// how `checkpoints/tiny-base` (the quickstart's base model) is made; the output is a function of the
/// options alone, so the command reproduces the committed files byte for byte.
public enum TinyModel {
    public struct Options: Sendable {
        public var data: String
        public var output: String
        public var vocabularySize = 1024
        public var hiddenSize = 128
        public var layers = 4
        public var heads = 4
        public var kvHeads = 2
        public var intermediateSize = 384
        public var seed: UInt64 = 0
        public init(data: String, output: String) { self.data = data; self.output = output }
    }

    /// The Llama 3 special tokens the chat templates use, in Llama 3 id order, then reserved fillers.
    static let specialTokens = ["<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>", "<|reserved_special_token_1|>",
                                "<|finetune_right_pad_id|>", "<|reserved_special_token_2|>", "<|start_header_id|>",
                                "<|end_header_id|>", "<|eom_id|>", "<|eot_id|>", "<|python_tag|>",
                                "<|reserved_special_token_3|>", "<|reserved_special_token_4|>", "<|reserved_special_token_5|>",
                                "<|reserved_special_token_6|>", "<|reserved_special_token_7|>"]

    public static func create(_ o: Options, log: (String) -> Void) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: o.output, withIntermediateDirectories: true)
        func path(_ name: String) -> String { (o.output as NSString).appendingPathComponent(name) }

        // Tokenizer: trained on every message of the dataset plus the template's own text runs.
        let file = try DatasetReader.read(path: o.data, format: .auto, onInvalid: .skip, vocabularySize: Int.max)
        var texts = ["system", "user", "assistant", "\n\n", "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n"]
        for record in file.records {
            if case .conversation(let c) = record { texts += c.messages.map { "\n\n" + pythonStrip($0.content) } }
        }
        let base = o.vocabularySize - specialTokens.count
        log("training a \(base)-token byte-level BPE on \(texts.count) texts from \(o.data)")
        let tokenizerJSON = try BPETrainer.trainTokenizerJSON(texts: texts, vocabularySize: base, specialTokens: specialTokens)
        try AtomicFile.write(tokenizerJSON, to: path("tokenizer.json"))
        let tokenizer = try Tokenizer.load(path: path("tokenizer.json"))
        let bos = tokenizer.specialTokenID("<|begin_of_text|>")!, eot = tokenizer.specialTokenID("<|eot_id|>")!
        let eos = tokenizer.specialTokenID("<|end_of_text|>")!

        let config = LlamaConfig(vocabSize: o.vocabularySize, hiddenSize: o.hiddenSize, intermediateSize: o.intermediateSize,
                                 numLayers: o.layers, numHeads: o.heads, numKVHeads: o.kvHeads, headDim: o.hiddenSize / o.heads,
                                 rmsNormEps: 1e-5, ropeTheta: 500000, tieWordEmbeddings: false, bosTokenID: bos, eosTokenIDs: [eos, eot])
        let configJSON: [String: Any] = [
            "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_act": "silu",
            "vocab_size": config.vocabSize, "hidden_size": config.hiddenSize, "intermediate_size": config.intermediateSize,
            "num_hidden_layers": config.numLayers, "num_attention_heads": config.numHeads, "num_key_value_heads": config.numKVHeads,
            "head_dim": config.headDim, "rms_norm_eps": 1e-5, "rope_theta": 500000.0, "rope_scaling": NSNull(),
            "max_position_embeddings": 2048, "tie_word_embeddings": false, "attention_bias": false, "mlp_bias": false,
            "attention_dropout": 0.0, "initializer_range": 0.02, "pretraining_tp": 1, "use_cache": true,
            "bos_token_id": bos, "eos_token_id": [eos, eot], "torch_dtype": "bfloat16",
        ]
        try AtomicFile.write(try JSONSerialization.data(withJSONObject: configJSON, options: [.prettyPrinted, .sortedKeys]), to: path("config.json"))
        let generation: [String: Any] = ["bos_token_id": bos, "eos_token_id": [eos, eot], "do_sample": true, "temperature": 0.6, "top_p": 0.9]
        try AtomicFile.write(try JSONSerialization.data(withJSONObject: generation, options: [.prettyPrinted, .sortedKeys]), to: path("generation_config.json"))
        let tokenizerConfig: [String: Any] = ["bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>", "model_max_length": 2048,
                                              "tokenizer_class": "PreTrainedTokenizerFast", "clean_up_tokenization_spaces": false]
        try AtomicFile.write(try JSONSerialization.data(withJSONObject: tokenizerConfig, options: [.prettyPrinted, .sortedKeys]), to: path("tokenizer_config.json"))

        let weights = LlamaWeights.random(config: config, seed: o.seed, storage: .bf16)
        try SafeTensorsWriter.write(weights.tensorsToWrite(), to: path("model.safetensors"))
        log("wrote \(o.output): \(config.parameterCount) parameters (bf16), vocabulary \(config.vocabSize)")
    }
}
