import Foundation

/// Trains a small byte-level BPE vocabulary and writes it as a Hugging Face `tokenizer.json` in the
/// Llama 3 layout (Llama 3 split pattern, ByteLevel, `ignore_merges`, special tokens after the base
/// vocabulary). Used by `llama-sft init-model` to give the embedded tiny model its own tokenizer.
///
/// The algorithm is the classic one (Sennrich et al. 2016, byte-level as in GPT-2): start from the 256
/// bytes, repeatedly merge the most frequent adjacent pair within pre-tokens (ties broken by the pair's
/// byte strings, so the result is deterministic), until `vocabularySize` base tokens exist.
public enum BPETrainer {
    public static func trainTokenizerJSON(texts: [String], vocabularySize: Int, specialTokens: [String]) throws -> Data {
        precondition(vocabularySize >= 256, "a byte-level vocabulary has at least 256 tokens")
        // Pre-tokenize with the Llama 3 pattern (through a bytes-only tokenizer) and count pieces.
        let base = try TokenizerJSONLoader.load(data: json(tokens: (0..<256).map { [UInt8($0)] }, merges: [], special: []),
                                                path: "<bytes-only tokenizer>")
        var counts: [[UInt8]: Int] = [:]
        for text in texts { for piece in base.preTokenize(text) { counts[Array(piece.utf8), default: 0] += 1 } }
        // Each word as a sequence of token ids; tokens are byte strings.
        var tokens: [[UInt8]] = (0..<256).map { [UInt8($0)] }
        var index: [[UInt8]: Int] = [:]
        for (i, t) in tokens.enumerated() { index[t] = i }
        var words = counts.sorted { $0.key.lexicographicallyPrecedes($1.key) }.map { (ids: $0.key.map(Int.init), count: $0.value) }
        var merges: [(Int, Int)] = []
        while tokens.count < vocabularySize {
            var pairCounts: [Int: Int] = [:]  // key = a << 32 | b
            for w in words where w.ids.count > 1 {
                for k in 0..<(w.ids.count - 1) { pairCounts[w.ids[k] << 32 | w.ids[k + 1], default: 0] += w.count }
            }
            guard let best = pairCounts.max(by: { lhs, rhs in
                if lhs.value != rhs.value { return lhs.value < rhs.value }
                // Deterministic tie-break: prefer the lexicographically smaller merged byte string.
                let l = tokens[lhs.key >> 32] + tokens[lhs.key & 0xFFFF_FFFF], r = tokens[rhs.key >> 32] + tokens[rhs.key & 0xFFFF_FFFF]
                return r.lexicographicallyPrecedes(l)
            }), best.value >= 2 else { break }
            let a = best.key >> 32, b = best.key & 0xFFFF_FFFF
            let merged = tokens[a] + tokens[b]
            if index[merged] != nil { break }
            let id = tokens.count
            tokens.append(merged)
            index[merged] = id
            merges.append((a, b))
            for w in words.indices where words[w].ids.count > 1 {
                var out: [Int] = []
                out.reserveCapacity(words[w].ids.count)
                var k = 0
                let ids = words[w].ids
                while k < ids.count {
                    if k + 1 < ids.count && ids[k] == a && ids[k + 1] == b { out.append(id); k += 2 } else { out.append(ids[k]); k += 1 }
                }
                words[w].ids = out
            }
        }
        return json(tokens: tokens, merges: merges.map { (tokens[$0.0], tokens[$0.1]) }, special: specialTokens)
    }

    /// A `tokenizer.json` object with the given base tokens (id = position), merges and special tokens.
    static func json(tokens: [[UInt8]], merges: [([UInt8], [UInt8])], special: [String]) -> Data {
        func s(_ bytes: [UInt8]) -> String { ByteLevelAlphabet.string(of: bytes) }
        var vocab: [String: Int] = [:]
        for (i, t) in tokens.enumerated() { vocab[s(t)] = i }
        let added: [[String: Any]] = special.enumerated().map { i, name in
            ["id": tokens.count + i, "content": name, "single_word": false, "lstrip": false, "rstrip": false,
             "normalized": false, "special": true]
        }
        let object: [String: Any] = [
            "version": "1.0",
            "truncation": NSNull(), "padding": NSNull(),
            "added_tokens": added,
            "normalizer": NSNull(),
            "pre_tokenizer": TokenizerJSONWriter.preTokenizerJSON([.llama3]),
            "post_processor": NSNull(),
            "decoder": ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true],
            "model": ["type": "BPE", "dropout": NSNull(), "unk_token": NSNull(), "continuing_subword_prefix": NSNull(),
                      "end_of_word_suffix": NSNull(), "fuse_unk": false, "byte_fallback": false, "ignore_merges": true,
                      "vocab": vocab, "merges": merges.map { [s($0.0), s($0.1)] }] as [String: Any],
        ]
        return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
    }
}
