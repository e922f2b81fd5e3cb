import Foundation
import GGUF
import Tokenizer

/// The `tokenizer.ggml.*` vocabulary of a byte-level BPE model, made from a Hugging Face `tokenizer.json`
/// the way llama.cpp's `convert_hf_to_gguf.py` makes it (`get_vocab_base`): one token string per id up to
/// the model's vocabulary size (ids the tokenizer does not define become `[PAD<id>]`, type UNUSED), added
/// special tokens typed CONTROL, other added tokens USER_DEFINED (CONTROL when they look like `<|…|>`),
/// everything else NORMAL; merges as `"left right"` strings in rank order.
struct GGUFVocabulary {
    /// llama.cpp's `llama_token_type` values (a GGUF base may also hold UNKNOWN 2 and BYTE 6).
    enum TokenType {
        static let normal: Int32 = 1, control: Int32 = 3, userDefined: Int32 = 4, unused: Int32 = 5
    }

    var tokens: [String]
    var types: [Int32]
    var merges: [String]
    /// `tokenizer.ggml.pre`: which pre-tokenizer llama.cpp must use.
    var pre: String

    /// Ids by token string (added tokens included).
    func id(of token: String) -> Int? { tokens.firstIndex(of: token) }

    /// - Parameters:
    ///   - vocabularySize: the model's `vocab_size` (the embedding rows), which may exceed the tokenizer's.
    ///   - preTokenizer: the steps our loader recognised in the same file.
    static func load(tokenizerJSON path: String, vocabularySize: Int, preTokenizer: [PreTokenizerStep]) throws -> GGUFVocabulary {
        func bad(_ reason: String) -> ExportError { .badJSON(path: path, reason: reason) }
        guard let data = FileManager.default.contents(atPath: path) else { throw bad("cannot read the file") }
        guard let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              let model = json["model"] as? [String: Any], let vocab = model["vocab"] as? [String: Any] else {
            throw bad("expected a JSON object with model.vocab")
        }
        guard (model["type"] as? String ?? "BPE") == "BPE" else { throw bad("model.type is not BPE; only byte-level BPE vocabularies can be written to GGUF") }

        var byID: [Int: (String, Int32)] = [:]
        for (token, value) in vocab {
            guard let id = (value as? NSNumber)?.intValue, id >= 0 else { throw bad("model.vocab[\"\(token)\"] is not a token id") }
            byID[id] = (token, TokenType.normal)
        }
        for case let added as [String: Any] in json["added_tokens"] as? [Any] ?? [] {
            guard let id = (added["id"] as? NSNumber)?.intValue, id >= 0, let content = added["content"] as? String else {
                throw bad("added_tokens holds an entry without an integer id and a string content")
            }
            let looksSpecial = content.hasPrefix("<|") && content.hasSuffix("|>")
            byID[id] = (content, (added["special"] as? Bool ?? false) || looksSpecial ? TokenType.control : TokenType.userDefined)
        }
        let count = max(vocabularySize, (byID.keys.max() ?? -1) + 1)
        var tokens: [String] = [], types: [Int32] = []
        tokens.reserveCapacity(count)
        types.reserveCapacity(count)
        for id in 0..<count {
            let (token, type) = byID[id] ?? ("[PAD\(id)]", TokenType.unused)
            tokens.append(token)
            types.append(type)
        }

        var merges: [String] = []
        for (i, merge) in (model["merges"] as? [Any] ?? []).enumerated() {
            if let text = merge as? String {
                merges.append(text)
            } else if let pair = merge as? [String], pair.count == 2 {
                merges.append(pair[0] + " " + pair[1])
            } else {
                throw bad("model.merges[\(i)] is neither \"a b\" nor [\"a\", \"b\"]")
            }
        }
        return GGUFVocabulary(tokens: tokens, types: types, merges: merges, pre: try preName(preTokenizer, path: path))
    }

    /// The vocabulary of a GGUF base, as its converter wrote it.
    static func load(gguf file: GGUFFile) throws -> GGUFVocabulary {
        func bad(_ key: String, _ reason: String) -> ExportError { .unsupportedTensor(file: file.path, tensor: key, reason: reason) }
        guard file["tokenizer.ggml.model"]?.stringValue == "gpt2" else {
            throw bad("tokenizer.ggml.model", "only byte-level BPE (\"gpt2\") vocabularies are exported, found \(file["tokenizer.ggml.model"]?.summary ?? "none")")
        }
        let tokens = file["tokenizer.ggml.tokens"]?.arrayValue?.compactMap(\.stringValue) ?? []
        let types = file["tokenizer.ggml.token_type"]?.arrayValue?.compactMap { $0.intValue.map(Int32.init) } ?? []
        let merges = file["tokenizer.ggml.merges"]?.arrayValue?.compactMap(\.stringValue) ?? []
        guard !tokens.isEmpty, types.count == tokens.count else {
            throw bad("tokenizer.ggml.tokens", "tokens and token_type are missing or of different lengths")
        }
        return GGUFVocabulary(tokens: tokens, types: types, merges: merges, pre: file["tokenizer.ggml.pre"]?.stringValue ?? "default")
    }

    /// The llama.cpp pre-tokenizer name for the steps our loader recognised.
    static func preName(_ steps: [PreTokenizerStep], path: String) throws -> String {
        switch steps {
        case [.llama3]: return "llama-bpe"
        case [.digits(individual: true), .gpt2]: return "smollm"
        case [.gpt2]: return "gpt-2"
        default:
            throw ExportError.unsupportedTensor(file: path, tensor: "pre_tokenizer", reason: "no llama.cpp pre-tokenizer name is known for \(steps); "
                + "GGUF export supports the Llama 3, SmolLM2 and GPT-2 pre-tokenizers")
        }
    }

    /// The metadata entries, in the order llama.cpp's converter writes them.
    var metadata: [(key: String, value: GGUFValue)] {
        [
            ("tokenizer.ggml.model", .string("gpt2")),
            ("tokenizer.ggml.pre", .string(pre)),
            ("tokenizer.ggml.tokens", .array(elementType: .string, tokens.map { .string($0) })),
            ("tokenizer.ggml.token_type", .array(elementType: .int32, types.map { .int32($0) })),
            ("tokenizer.ggml.merges", .array(elementType: .string, merges.map { .string($0) })),
        ]
    }
}
