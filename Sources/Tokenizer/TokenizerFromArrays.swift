extension Tokenizer {
    /// A byte-level BPE tokenizer from plain arrays, as model files other than tokenizer.json store it
    /// (e.g. GGUF's `tokenizer.ggml.tokens` / `token_type` / `merges`).
    ///
    /// - Parameters:
    ///   - tokens: the token of each id, in the byte-level alphabet (GPT-2's byte → character map), as in
    ///     tokenizer.json's `model.vocab`.
    ///   - added: control and user-defined tokens (decoded and named by their text, as tokenizer.json's
    ///     `added_tokens`), with whether each is special.
    ///   - merges: `"a b"` rules in priority order.
    ///   - preTokenizer: the splitting steps the model's tokenizer uses.
    ///   - ignoresMerges: a pre-token that is itself a token maps straight to its id (Llama 3).
    ///   - sourcePath, tokensKey, mergesKey: named in error messages.
    public static func byteLevelBPE(tokens: [String], added: [(id: Int, special: Bool)], merges: [String],
                                    preTokenizer: [PreTokenizerStep], ignoresMerges: Bool, sourcePath: String,
                                    tokensKey: String, mergesKey: String) throws -> Tokenizer {
        var vocab: [String: Any] = [:]
        vocab.reserveCapacity(tokens.count)
        for (id, token) in tokens.enumerated() {
            if vocab[token] != nil {
                throw TokenizerError.inconsistentVocabulary(path: sourcePath, key: "\(tokensKey)[\(id)]", reason:
                    "the token \"\(token)\" also has id \(vocab[token]!)")
            }
            vocab[token] = id
        }
        let addedTokens = try added.map { entry -> AddedToken in
            guard entry.id >= 0, entry.id < tokens.count else {
                throw TokenizerError.inconsistentVocabulary(path: sourcePath, key: tokensKey, reason: "added token id \(entry.id) is outside the vocabulary")
            }
            return AddedToken(id: entry.id, content: tokens[entry.id], special: entry.special)
        }
        return try TokenizerJSONLoader.build(vocab: vocab, merges: merges, added: addedTokens, ignoresMerges: ignoresMerges,
                                             steps: preTokenizer, format: .vocabularyArrays, path: sourcePath,
                                             keys: .init(vocab: tokensKey, merges: mergesKey))
    }
}
