import ChatData
import GGUF
import Llama
import Tokenizer

/// The tokenizer and chat template that come with a base model, for either model source.
public enum ModelTokenizer {
    /// The tokenizer at `path`: a GGUF file's own (from its metadata), or `Tokenizer.load` for a model
    /// directory or a tokenizer file.
    public static func load(path: String) throws -> Tokenizer {
        guard case .gguf(let file) = ModelSource(path: path) else { return try Tokenizer.load(path: path) }
        return try load(gguf: GGUFFile(path: file))
    }

    public static func load(gguf file: GGUFFile) throws -> Tokenizer {
        let meta = try GGUFTokenizerMetadata(file: file)
        guard meta.model == "gpt2" else {
            throw LlamaError.unsupported(file: file.path, what: "tokenizer.ggml.model \"\(meta.model)\" (only \"gpt2\", byte-level BPE as Llama 3 and SmolLM2 use; \"llama\" is SentencePiece)")
        }
        let pre = meta.pre ?? "default"
        guard let chosen = PreTokenizerStep.llamaCppNames[pre] else {
            throw LlamaError.unsupported(file: file.path, what: "tokenizer.ggml.pre \"\(pre)\" (supported: \(PreTokenizerStep.llamaCppNames.keys.sorted().joined(separator: ", "))). Give the model's tokenizer.json as \"tokenizer\" in the recipe.")
        }
        let added = meta.tokenTypes.enumerated().compactMap { id, type -> (id: Int, special: Bool)? in
            switch type {
            case .control: return (id, true)
            case .userDefined: return (id, false)
            default: return nil
            }
        }
        return try Tokenizer.byteLevelBPE(tokens: meta.tokens, added: added, merges: meta.merges, preTokenizer: chosen.steps,
                                          ignoresMerges: chosen.ignoresMerges, sourcePath: file.path,
                                          tokensKey: "tokenizer.ggml.tokens", mergesKey: "tokenizer.ggml.merges")
    }

    /// The template a GGUF model's `tokenizer.chat_template` corresponds to. nil when the file has no
    /// template (as for base models; the default applies); throws when it has one we do not recognize.
    public static func chatTemplate(gguf path: String) throws -> ChatTemplate? {
        let file = try GGUFFile(path: path)
        guard let value = file["tokenizer.chat_template"] else { return nil }
        guard let jinja = value.stringValue, let template = ChatTemplate(recognizing: jinja) else {
            throw LlamaError.unsupported(file: path, what: "its chat template (tokenizer.chat_template) is none of \(ChatTemplate.allCases.map(\.rawValue).joined(separator: ", ")); name the one to train with in the recipe (\"data.template\")")
        }
        return template
    }
}
