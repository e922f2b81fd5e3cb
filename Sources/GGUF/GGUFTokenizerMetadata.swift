/// The tokenizer a GGUF file carries, as plain arrays (llama.cpp's `tokenizer.*` keys), validated.
public struct GGUFTokenizerMetadata: Sendable {
    /// llama.cpp's `llama_token_type` values in `tokenizer.ggml.token_type`.
    public enum TokenType: Int, Sendable {
        case undefined = 0, normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    /// `tokenizer.ggml.model`: "gpt2" for byte-level BPE (Llama 3, SmolLM2), "llama" for SentencePiece.
    public let model: String
    /// `tokenizer.ggml.pre`: the pre-tokenizer's name in llama.cpp ("llama-bpe", "smollm", …), if given.
    public let pre: String?
    public let tokens: [String]
    public let tokenTypes: [TokenType]
    public let merges: [String]
    public let bosID: Int?
    public let eosID: Int?
    /// End of turn (`<|eot_id|>` for Llama 3 instruct, `<|im_end|>` for ChatML models), if given.
    public let eotID: Int?
    /// `tokenizer.chat_template`: the model's Jinja chat template, if given.
    public let chatTemplate: String?

    public init(file: GGUFFile) throws {
        let path = file.path
        func string(_ key: String, required: Bool) throws -> String? {
            guard let v = file[key] else {
                if required { throw GGUFError.badMetadata(path: path, key: key, reason: "missing: the file carries no tokenizer. Give a tokenizer in the recipe (\"tokenizer\": a tokenizer.json).") }
                return nil
            }
            guard let s = v.stringValue else { throw GGUFError.badMetadata(path: path, key: key, reason: "expected a STRING, found \(v.summary)") }
            return s
        }
        func strings(_ key: String) throws -> [String] {
            guard let v = file[key] else { throw GGUFError.badMetadata(path: path, key: key, reason: "missing: the tokenizer is incomplete.") }
            guard case .array(.string, let values) = v else {
                throw GGUFError.badMetadata(path: path, key: key, reason: "expected an ARRAY of STRING, found \(v.summary)")
            }
            return values.map { $0.stringValue! }
        }
        func id(_ key: String, count: Int) throws -> Int? {
            guard let v = file[key] else { return nil }
            guard let n = v.intValue, n >= 0, n < count else {
                throw GGUFError.badMetadata(path: path, key: key, reason: "expected a token id in 0..<\(count), found \(v.summary)")
            }
            return n
        }
        model = try string("tokenizer.ggml.model", required: true)!
        pre = try string("tokenizer.ggml.pre", required: false)
        tokens = try strings("tokenizer.ggml.tokens")
        merges = file["tokenizer.ggml.merges"] == nil && model != "gpt2" ? [] : try strings("tokenizer.ggml.merges")
        if let v = file["tokenizer.ggml.token_type"] {
            guard case .array(_, let values) = v, values.count == tokens.count else {
                throw GGUFError.badMetadata(path: path, key: "tokenizer.ggml.token_type",
                                            reason: "expected an ARRAY of \(tokens.count) integers (one per token), found \(v.summary)")
            }
            tokenTypes = try values.enumerated().map { i, value in
                guard let n = value.intValue, let t = TokenType(rawValue: n) else {
                    throw GGUFError.badMetadata(path: path, key: "tokenizer.ggml.token_type[\(i)]", reason: "unknown token type \(value.summary) (0–6)")
                }
                return t
            }
        } else {
            tokenTypes = Array(repeating: .normal, count: tokens.count)
        }
        bosID = try id("tokenizer.ggml.bos_token_id", count: tokens.count)
        eosID = try id("tokenizer.ggml.eos_token_id", count: tokens.count)
        eotID = try id("tokenizer.ggml.eot_token_id", count: tokens.count)
        chatTemplate = try string("tokenizer.chat_template", required: false)
    }
}
