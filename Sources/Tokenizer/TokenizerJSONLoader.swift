import Foundation
import StrictJSON

/// Reads a Hugging Face `tokenizer.json` whose model is byte-level BPE (docs/formats.md, Tokenizer).
///
/// Supported: `model.type` BPE with `byte_fallback` false, `ignore_merges` either way, merges as
/// `"a b"` strings or `["a","b"]` pairs, no normalizer, and a pre-tokenizer made of
/// `Split` (Llama 3 or GPT-2 regex, Isolated), `Digits` and a final `ByteLevel` (`add_prefix_space` false).
enum TokenizerJSONLoader {
    static func load(data: Data, path: String) throws -> Tokenizer {
        let root: Any
        do {
            root = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw TokenizerError.malformedJSON(path: path, key: nil, reason: "JSON syntax error (\(describe(error)))")
        }
        guard let object = root as? [String: Any] else {
            throw TokenizerError.malformedJSON(path: path, key: nil, reason: "the top level is not a JSON object")
        }
        guard let model = object["model"] as? [String: Any] else {
            throw TokenizerError.malformedJSON(path: path, key: "model", reason: "missing or not an object")
        }
        try checkModel(model, path: path)   // first: its message is the most telling (e.g. Llama 2's byte_fallback)
        if let normalizer = object["normalizer"], !(normalizer is NSNull) {
            let type = (normalizer as? [String: Any])?["type"] as? String ?? "?"
            throw TokenizerError.unsupported(path: path, feature: "a normalizer (type '\(type)')", hint:
                "Only byte-level BPE tokenizers without normalization (Llama 3, SmolLM2, GPT-2 style) are supported.")
        }
        let ignoresMerges = try bool(model["ignore_merges"], default: false, key: "model.ignore_merges", path: path)
        let steps = try preTokenizerSteps(object["pre_tokenizer"], path: path)
        guard let vocab = model["vocab"] as? [String: Any] else {
            throw TokenizerError.malformedJSON(path: path, key: "model.vocab", reason: "missing or not an object of token → id")
        }
        guard let merges = model["merges"] as? [Any] else {
            throw TokenizerError.malformedJSON(path: path, key: "model.merges", reason: "missing or not a list")
        }
        let added = try addedTokens(object["added_tokens"], path: path)
        return try build(vocab: vocab, merges: merges, added: added, ignoresMerges: ignoresMerges, steps: steps,
                         format: .tokenizerJSON, path: path, keys: .tokenizerJSON)
    }

    /// Where vocabulary and merges live in the source file, for error messages.
    struct SourceKeys {
        var vocab: String
        var merges: String
        static let tokenizerJSON = SourceKeys(vocab: "model.vocab", merges: "model.merges")
    }

    /// The tokenizer from a byte-level vocabulary (token string → id), merges ("a b" or ["a", "b"]) and
    /// added tokens: shared by tokenizer.json and the plain-array initializer (GGUF metadata).
    static func build(vocab: [String: Any], merges: [Any], added: [Tokenizer.AddedToken], ignoresMerges: Bool,
                      steps: [PreTokenizerStep], format: Tokenizer.Format, path: String, keys: SourceKeys) throws -> Tokenizer {
        // Vocabulary: byte-level strings → bytes. A key with a scalar outside the byte-level alphabet can never
        // come out of BPE on bytes; it is kept for decoding (as its UTF-8, like HF's ByteLevel decoder) only.
        var ids: [(id: Int, key: String)] = []
        ids.reserveCapacity(vocab.count)
        var largestID = -1
        for (key, value) in vocab {
            guard let id = integer(value), id >= 0, id < 50_000_000 else {
                throw TokenizerError.malformedJSON(path: path, key: "\(keys.vocab)[\(quoted(key))]", reason:
                    "the id is not an integer in 0..<50000000")
            }
            ids.append((id, key))
            largestID = max(largestID, id)
        }
        let largestVocabID = largestID
        for token in added { largestID = max(largestID, token.id) }
        // Every table below (and the token store's hash table) is sized by the largest id: a few-KB file
        // naming id 44444519 made the loader allocate 3.7 GB. Real vocabularies are dense from 0, so
        // ids far beyond the number of tokens mean a damaged file.
        let entries = vocab.count + added.count
        guard largestID < 4 * entries + 1024 else {
            let key = largestID == largestVocabID ? "\(keys.vocab)[\(quoted(ids.first { $0.id == largestID }!.key))]" : "added_tokens"
            throw TokenizerError.malformedJSON(path: path, key: key, reason:
                "id \(largestID) is far beyond the \(entries) tokens the file defines; ids run from 0 without large gaps. Is the file damaged?")
        }
        var tokens = [[UInt8]?](repeating: nil, count: largestID + 1)
        var tokenKeys = [String?](repeating: nil, count: largestID + 1)
        var indexed = [Bool](repeating: false, count: largestID + 1)
        ByteLevelAlphabet.byteForScalar.withUnsafeBufferPointer { inverse in
            for (id, key) in ids where tokenKeys[id] == nil {
                var text = key
                var bytes: [UInt8] = []
                let reachable = text.withUTF8 { ByteLevelAlphabet.appendBytes(ofUTF8: $0, to: &bytes, inverse: inverse) }
                tokens[id] = reachable ? bytes : Array(key.utf8)
                indexed[id] = reachable
                tokenKeys[id] = key
            }
        }
        if ids.count != ids.reduce(0, { $0 + (tokenKeys[$1.id] == $1.key ? 1 : 0) }) {
            let clash = ids.first { tokenKeys[$0.id] != $0.key }!
            throw TokenizerError.inconsistentVocabulary(path: path, key: "\(keys.vocab)[\(quoted(clash.key))]", reason:
                "id \(clash.id) is also used by \(quoted(tokenKeys[clash.id]!))")
        }
        // An added token decodes to its content (HF decodes added tokens first). If its id is also a vocabulary
        // entry with different bytes, that entry stays reachable only through merges.
        for token in added {
            let content = Array(token.content.utf8)
            if let existing = tokens[token.id], existing != content { indexed[token.id] = false }
            tokens[token.id] = content
        }
        let store = TokenStore(tokens: tokens) { indexed[$0] }
        for id in 0..<tokens.count where indexed[id] {
            let found = store.lookup(tokens[id]!)
            if found != id {
                throw TokenizerError.inconsistentVocabulary(path: path, key: "\(keys.vocab)[\(quoted(tokenKeys[id] ?? "?"))]", reason:
                    "the token repeats the bytes of id \(found)")
            }
        }
        let rules = try mergeRules(merges, vocab: vocab, store: store, path: path, keys: keys)
        return Tokenizer(store: store, pairs: PairTable(rules: rules), added: added, ignoresMerges: ignoresMerges,
                         preTokenizer: steps, format: format, sourcePath: path)
    }

    // MARK: model

    private static func checkModel(_ model: [String: Any], path: String) throws {
        // Files written by old `tokenizers` versions may omit `type`; BPE is the only model with merges.
        let type = model["type"] as? String ?? (model["merges"] != nil ? "BPE" : "unknown")
        guard type == "BPE" else {
            throw TokenizerError.unsupported(path: path, feature: "model type '\(type)'", hint:
                "Only byte-level BPE models (Llama 3, SmolLM2, GPT-2 style) are supported, not WordPiece, Unigram or WordLevel.")
        }
        if try bool(model["byte_fallback"], default: false, key: "model.byte_fallback", path: path) {
            throw TokenizerError.unsupported(path: path, feature: "BPE with byte_fallback (a SentencePiece-style tokenizer such as Llama 2's)", hint:
                "Only byte-level BPE without byte fallback (Llama 3, SmolLM2, GPT-2 style) is supported.")
        }
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let value = model[key] as? String, !value.isEmpty {
                throw TokenizerError.unsupported(path: path, feature: "model.\(key) '\(value)'", hint:
                    "Only byte-level BPE without subword prefixes or suffixes is supported.")
            }
        }
        if let dropout = model["dropout"], !(dropout is NSNull), (dropout as? NSNumber)?.doubleValue != 0 {
            throw TokenizerError.unsupported(path: path, feature: "BPE dropout", hint: "Set model.dropout to null for deterministic tokenization.")
        }
    }

    /// Merge `k` becomes the rule (left, right) → merged with priority `k`.
    private static func mergeRules(_ merges: [Any], vocab: [String: Any], store: TokenStore, path: String,
                                   keys: SourceKeys) throws -> [PairTable.Rule] {
        var rules: [PairTable.Rule] = []
        rules.reserveCapacity(merges.count)
        var bytes: [UInt8] = []   // left bytes followed by right bytes
        try ByteLevelAlphabet.byteForScalar.withUnsafeBufferPointer { inverse in
            for (index, entry) in merges.enumerated() {
                let key = { "\(keys.merges)[\(index)]" }   // built only for errors
                var left: String
                var right: String
                var cut = 0
                var decoded: Bool
                bytes.removeAll(keepingCapacity: true)
                if var text = entry as? String {
                    // Legacy form "a b": byte-level strings never contain U+0020 (space is written Ġ), so the
                    // one space separates the tokens. Decoded straight from UTF-8 (no substrings: 280k merges).
                    let space = text.withUTF8 { utf8 -> Int? in
                        guard let at = utf8.firstIndex(of: 0x20), utf8[(at + 1)...].firstIndex(of: 0x20) == nil else { return nil }
                        return at
                    }
                    guard let space else {
                        throw TokenizerError.malformedJSON(path: path, key: key(), reason: "expected two tokens separated by one space")
                    }
                    decoded = text.withUTF8 { utf8 in
                        let ok = ByteLevelAlphabet.appendBytes(ofUTF8: UnsafeBufferPointer(rebasing: utf8[..<space]), to: &bytes, inverse: inverse)
                        cut = bytes.count
                        return ok && ByteLevelAlphabet.appendBytes(ofUTF8: UnsafeBufferPointer(rebasing: utf8[(space + 1)...]),
                                                                   to: &bytes, inverse: inverse)
                    }
                    left = ""
                    right = ""
                    if !decoded {
                        let parts = text.split(separator: " ", omittingEmptySubsequences: false)
                        (left, right) = (String(parts[0]), String(parts[1]))
                    }
                } else if let pair = entry as? [Any] {
                    guard pair.count == 2, let a = pair[0] as? String, let b = pair[1] as? String else {
                        throw TokenizerError.malformedJSON(path: path, key: key(), reason: "expected a pair of strings [\"a\", \"b\"]")
                    }
                    (left, right) = (a, b)
                    decoded = left.withUTF8 { ByteLevelAlphabet.appendBytes(ofUTF8: $0, to: &bytes, inverse: inverse) }
                    cut = bytes.count
                    decoded = decoded && right.withUTF8 { ByteLevelAlphabet.appendBytes(ofUTF8: $0, to: &bytes, inverse: inverse) }
                } else {
                    throw TokenizerError.malformedJSON(path: path, key: key(), reason: "expected \"a b\" or [\"a\", \"b\"]")
                }
                guard decoded else {
                    // A token outside the byte-level alphabet never occurs in BPE over bytes, so the rule can
                    // never apply; HF only requires that both tokens exist.
                    for part in [left, right] where vocab[part] == nil {
                        throw TokenizerError.inconsistentVocabulary(path: path, key: key(), reason: "\(quoted(part)) is not in \(keys.vocab)")
                    }
                    continue
                }
                let (leftID, rightID, mergedID) = bytes.withUnsafeBufferPointer { b -> (Int, Int, Int) in
                    let p = b.baseAddress!
                    guard cut > 0, cut < b.count else { return (-1, -1, -1) }
                    return (store.lookup(p, cut), store.lookup(p + cut, b.count - cut), store.lookup(p, b.count))
                }
                if leftID < 0 || rightID < 0 || mergedID < 0 {
                    (left, right) = bytes.withUnsafeBufferPointer { b in
                        (ByteLevelAlphabet.string(of: b[..<cut]), ByteLevelAlphabet.string(of: b[cut...]))
                    }
                }
                if leftID < 0 || rightID < 0 {
                    let missing = leftID < 0 ? left : right
                    throw TokenizerError.inconsistentVocabulary(path: path, key: key(), reason: "\(quoted(missing)) is not in \(keys.vocab)")
                }
                guard mergedID >= 0 else {
                    throw TokenizerError.inconsistentVocabulary(path: path, key: key(), reason:
                        "the merged token \(quoted(left + right)) is not in \(keys.vocab)")
                }
                rules.append(.init(left: UInt32(leftID), right: UInt32(rightID), priority: UInt32(index), merged: UInt32(mergedID)))
            }
        }
        return rules
    }

    // MARK: pre-tokenizer

    static func preTokenizerSteps(_ value: Any?, path: String) throws -> [PreTokenizerStep] {
        guard let value, !(value is NSNull) else {
            throw TokenizerError.unsupported(path: path, feature: "no pre_tokenizer", hint:
                "Byte-level BPE needs a ByteLevel pre-tokenizer; this file is probably not byte-level.")
        }
        var steps: [PreTokenizerStep] = []
        var sawByteLevel = false
        func visit(_ node: Any, key: String) throws {
            guard let object = node as? [String: Any], let type = object["type"] as? String else {
                throw TokenizerError.malformedJSON(path: path, key: key, reason: "expected an object with a \"type\"")
            }
            if sawByteLevel && type != "Sequence" {
                throw TokenizerError.unsupported(path: path, feature: "pre-tokenizer '\(type)' after ByteLevel (at \(key))", hint:
                    "Supported: Split / Digits steps followed by one ByteLevel.")
            }
            switch type {
            case "Sequence":
                guard let list = object["pretokenizers"] as? [Any] else {
                    throw TokenizerError.malformedJSON(path: path, key: key + ".pretokenizers", reason: "missing or not a list")
                }
                for (index, child) in list.enumerated() { try visit(child, key: "\(key).pretokenizers[\(index)]") }
            case "Split":
                guard let regex = (object["pattern"] as? [String: Any])?["Regex"] as? String else {
                    throw TokenizerError.unsupported(path: path, feature: "a Split pre-tokenizer without a Regex pattern (at \(key))", hint:
                        "Supported: Split with the Llama 3 or GPT-2 regex.")
                }
                let behavior = object["behavior"] as? String ?? "?"
                let invert = try bool(object["invert"], default: false, key: key + ".invert", path: path)
                guard behavior == "Isolated", !invert else {
                    throw TokenizerError.unsupported(path: path, feature: "Split behavior '\(behavior)'\(invert ? " inverted" : "") (at \(key))", hint:
                        "Supported: behavior Isolated, invert false.")
                }
                switch regex {
                case KnownPattern.llama3: steps.append(.llama3)
                case KnownPattern.gpt2: steps.append(.gpt2)
                default:
                    throw TokenizerError.unsupported(path: path, feature: "the pre-tokenizer regex \(quoted(regex)) (at \(key).pattern.Regex)", hint:
                        "Known patterns: Llama 3's and GPT-2's; another regex would need its own scanner in Sources/Tokenizer/PreTokenizer.swift.")
                }
            case "Digits":
                steps.append(.digits(individual: try bool(object["individual_digits"], default: false, key: key + ".individual_digits", path: path)))
            case "ByteLevel":
                // Defaults as in HF tokenizers: add_prefix_space true, use_regex true.
                if try bool(object["add_prefix_space"], default: true, key: key + ".add_prefix_space", path: path) {
                    throw TokenizerError.unsupported(path: path, feature: "ByteLevel add_prefix_space true (at \(key))", hint:
                        "Set add_prefix_space to false (Llama 3 and SmolLM2 use false).")
                }
                if try bool(object["use_regex"], default: true, key: key + ".use_regex", path: path) { steps.append(.gpt2) }
                sawByteLevel = true
            default:
                throw TokenizerError.unsupported(path: path, feature: "pre-tokenizer type '\(type)' (at \(key))", hint:
                    "Supported: Sequence, Split (Llama 3 / GPT-2 regex), Digits, ByteLevel.")
            }
        }
        try visit(value, key: "pre_tokenizer")
        guard sawByteLevel else {
            throw TokenizerError.unsupported(path: path, feature: "a pre_tokenizer without ByteLevel", hint:
                "Only byte-level BPE is supported; this vocabulary is not byte-level.")
        }
        return steps
    }

    // MARK: added tokens

    private static func addedTokens(_ value: Any?, path: String) throws -> [Tokenizer.AddedToken] {
        guard let value, !(value is NSNull) else { return [] }
        guard let list = value as? [Any] else {
            throw TokenizerError.malformedJSON(path: path, key: "added_tokens", reason: "not a list")
        }
        return try list.enumerated().map { index, element in
            let key = "added_tokens[\(index)]"
            guard let object = element as? [String: Any], let id = integer(object["id"]), id >= 0, id < 1 << 31,
                  let content = object["content"] as? String else {
                throw TokenizerError.malformedJSON(path: path, key: key, reason: "expected {\"id\": integer, \"content\": string, …}")
            }
            let special = try bool(object["special"], default: false, key: key + ".special", path: path)
            return Tokenizer.AddedToken(id: id, content: content, special: special)
        }
    }

    // MARK: JSON helpers

    private static func bool(_ value: Any?, default fallback: Bool, key: String, path: String) throws -> Bool {
        guard !JSONField.isMissing(value) else { return fallback }
        guard let flag = JSONField.boolean(value) else {
            throw TokenizerError.malformedJSON(path: path, key: key, reason: "expected true or false")
        }
        return flag
    }

    private static func integer(_ value: Any?) -> Int? { JSONField.integer(value) }

    private static func quoted(_ text: String) -> String {
        let shown = text.count > 60 ? String(text.prefix(60)) + "…" : text
        return "\"\(shown)\""
    }

    private static func describe(_ error: Error) -> String {
        let ns = error as NSError
        return (ns.userInfo[NSDebugDescriptionErrorKey] as? String) ?? ns.localizedDescription
    }
}
