import Foundation

/// Writes a Hugging Face `tokenizer.json` for a byte-level BPE vocabulary: the subset of the format that
/// ``Tokenizer/load(path:)`` reads and that the `tokenizers` library loads (docs/gguf.md, Writing a
/// Hugging Face model from a GGUF base).
public enum TokenizerJSONWriter {
    /// A token that is matched as a whole before BPE (`added_tokens`).
    public struct AddedToken: Sendable, Equatable {
        public var id: Int
        public var content: String
        public var special: Bool

        public init(id: Int, content: String, special: Bool) {
            self.id = id
            self.content = content
            self.special = special
        }
    }

    /// The file's bytes (keys sorted).
    ///
    /// - Parameters:
    ///   - tokens: the byte-level string of every id (added tokens included, as transformers' GGUF
    ///     converter and SmolLM2's own file keep them in `model.vocab` too).
    ///   - merges: `"left right"` strings in rank order (written as `[left, right]` pairs).
    ///   - bos: the token a `TemplateProcessing` post-processor puts before every sequence (Llama 3), or nil
    ///     for the plain `ByteLevel` post-processor (SmolLM2, GPT-2).
    public static func data(tokens: [String], added: [AddedToken], merges: [String], preTokenizer steps: [PreTokenizerStep],
                            ignoresMerges: Bool, bos: (id: Int, content: String)?) throws -> Data {
        var vocab: [String: Int] = [:]
        vocab.reserveCapacity(tokens.count)
        for (id, token) in tokens.enumerated() where vocab[token] == nil { vocab[token] = id }
        var pairs: [[String]] = []
        pairs.reserveCapacity(merges.count)
        for merge in merges {
            // Byte-level strings never contain U+0020 (a space is written "Ġ"), so the one space separates.
            let parts = merge.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2 else { throw TokenizerError.malformedJSON(path: "merges", key: merge, reason: "expected two tokens separated by one space") }
            pairs.append([String(parts[0]), String(parts[1])])
        }
        let addedJSON: [[String: Any]] = added.map {
            ["id": $0.id, "content": $0.content, "single_word": false, "lstrip": false, "rstrip": false,
             "normalized": !$0.special, "special": $0.special]
        }
        let postProcessor: Any
        if let bos {
            let token: [String: Any] = ["SpecialToken": ["id": bos.content, "type_id": 0]]
            postProcessor = [
                "type": "TemplateProcessing",
                "single": [token, ["Sequence": ["id": "A", "type_id": 0]]],
                "pair": [token, ["Sequence": ["id": "A", "type_id": 0]], ["SpecialToken": ["id": bos.content, "type_id": 1]],
                         ["Sequence": ["id": "B", "type_id": 1]]],
                "special_tokens": [bos.content: ["id": bos.content, "ids": [bos.id], "tokens": [bos.content]]],
            ] as [String: Any]
        } else {
            postProcessor = ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true] as [String: Any]
        }
        let object: [String: Any] = [
            "version": "1.0",
            "truncation": NSNull(), "padding": NSNull(),
            "added_tokens": addedJSON,
            "normalizer": NSNull(),
            "pre_tokenizer": preTokenizerJSON(steps),
            "post_processor": postProcessor,
            "decoder": ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true],
            "model": ["type": "BPE", "dropout": NSNull(), "unk_token": NSNull(), "continuing_subword_prefix": NSNull(),
                      "end_of_word_suffix": NSNull(), "fuse_unk": false, "byte_fallback": false, "ignore_merges": ignoresMerges,
                      "vocab": vocab, "merges": pairs] as [String: Any],
        ]
        return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    }

    /// The `pre_tokenizer` object for `steps`, as the loader parses it back: each Llama 3 / GPT-2 regex a
    /// `Split` (Isolated), digits a `Digits`, then one `ByteLevel` without a prefix space, which applies
    /// the GPT-2 regex itself when that is the last step.
    public static func preTokenizerJSON(_ steps: [PreTokenizerStep]) -> [String: Any] {
        var list: [[String: Any]] = []
        var byteLevelRegex = false
        for (index, step) in steps.enumerated() {
            switch step {
            case .llama3:
                list.append(["type": "Split", "pattern": ["Regex": KnownPattern.llama3], "behavior": "Isolated", "invert": false])
            case .gpt2 where index == steps.count - 1:
                byteLevelRegex = true
            case .gpt2:
                list.append(["type": "Split", "pattern": ["Regex": KnownPattern.gpt2], "behavior": "Isolated", "invert": false])
            case .digits(let individual):
                list.append(["type": "Digits", "individual_digits": individual])
            }
        }
        let byteLevel: [String: Any] = ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": byteLevelRegex]
        if list.isEmpty { return byteLevel }
        return ["type": "Sequence", "pretokenizers": list + [byteLevel]]
    }
}

extension PreTokenizerStep {
    /// llama.cpp's pre-tokenizer names (`tokenizer.ggml.pre`) that these steps implement, and whether whole
    /// pre-tokens found in the vocabulary skip merging (`ignore_merges`, set for Llama 3 as its
    /// tokenizer.json does).
    public static let llamaCppNames: [String: (steps: [PreTokenizerStep], ignoresMerges: Bool)] = [
        "llama-bpe": ([.llama3], true),
        "llama3": ([.llama3], true),
        "llama-v3": ([.llama3], true),
        "smollm": ([.digits(individual: true), .gpt2], false),
        "gpt-2": ([.gpt2], false),
        "gpt2": ([.gpt2], false),
    ]
}
