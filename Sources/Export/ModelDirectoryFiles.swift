import Foundation
import Llama
import SafeTensors
import StrictJSON

/// The non-weight files of a merged Hugging Face model directory (REFERENCE §9).
enum ModelDirectoryFiles {
    /// Tokenizer files copied from the base when present (chat templates saved on their own by newer
    /// transformers included).
    static let tokenizerFiles = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model",
                                 "chat_template.jinja", "chat_template.json"]

    /// Llama 3 instruct stop ids: `<|end_of_text|>`, `<|eom_id|>`, `<|eot_id|>` (REFERENCE §1.1, §3).
    static let llama3StopIDs = [128001, 128008, 128009]

    /// The base's `config.json` with only the dtype key changed: `torch_dtype` or `dtype`, whichever the
    /// base uses (a base with neither gets `dtype` when it has the v5 `rope_parameters`, else `torch_dtype`).
    /// Every other key, the key order, the number formatting and the rope key style are the base's bytes.
    static func config(baseText: String, dtypeName: String, path: String) throws -> String {
        let keys = try JSONTextEdit.topLevelEntries(Array(baseText.utf8), path: path).map(\.key)
        let key: String
        if keys.contains("torch_dtype") { key = "torch_dtype" }
        else if keys.contains("dtype") { key = "dtype" }
        else { key = keys.contains("rope_parameters") ? "dtype" : "torch_dtype" }
        if case .string(dtypeName)? = JSONTextEdit.topLevelValue(key, in: baseText) { return baseText }
        return try JSONTextEdit.setting(key, to: JSONTextEdit.jsonString(dtypeName), in: baseText, path: path)
    }

    /// `generation_config.json`: the base's if it has one, else a new one with the config's bos/eos ids.
    /// For a Llama 3 tokenizer, `eos_token_id` becomes `[128001, 128008, 128009]` so generation stops at
    /// `<|eot_id|>` after chat fine-tuning; other vocabularies (e.g. the tiny embedded model, whose ids
    /// differ) keep the base's ids — from its generation_config.json, else config.json `eos_token_id`.
    static func generationConfig(baseText: String?, config: LlamaConfig, llama3Tokenizer: Bool, path: String) throws -> String {
        let stopJSON = "[" + llama3StopIDs.map(String.init).joined(separator: ", ") + "]"
        if let baseText {
            guard llama3Tokenizer else { return baseText }
            return try JSONTextEdit.setting("eos_token_id", to: stopJSON, in: baseText, path: path)
        }
        // What transformers writes: json.dumps(indent=2, sort_keys=True) + "\n".
        var members: [String] = []
        if let bos = config.bosTokenID { members.append("  \"bos_token_id\": \(bos)") }
        if llama3Tokenizer {
            members.append("  \"eos_token_id\": \(stopJSON)")
        } else if config.eosTokenIDs.count == 1 {
            members.append("  \"eos_token_id\": \(config.eosTokenIDs[0])")
        } else if !config.eosTokenIDs.isEmpty {
            members.append("  \"eos_token_id\": [\n" + config.eosTokenIDs.map { "    \($0)" }.joined(separator: ",\n") + "\n  ]")
        }
        return "{\n" + members.joined(separator: ",\n") + "\n}\n"
    }

    /// A Llama 3 tokenizer: the 128,256-id vocabulary, and — when a tokenizer.json is there to ask —
    /// one that defines `<|eot_id|>`.
    static func isLlama3Tokenizer(config: LlamaConfig, baseDirectory: String) -> Bool {
        guard config.vocabSize >= 128_256 else { return false }
        guard let data = FileManager.default.contents(atPath: join(baseDirectory, "tokenizer.json")) else { return true }
        return data.range(of: Data("<|eot_id|>".utf8)) != nil
    }

    /// Reads a text file of the base, following symlinks (Hugging Face cache snapshots are symlinks).
    static func readText(_ path: String) throws -> String? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ExportError.badJSON(path: path, reason: "cannot read the file")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Copies the tokenizer files the base has into `directory` (contents, not symlinks). Returns their names.
    static func copyTokenizerFiles(from base: String, to directory: String) throws -> [String] {
        var copied: [String] = []
        for name in tokenizerFiles {
            let source = join(base, name)
            guard FileManager.default.fileExists(atPath: source) else { continue }
            guard let data = FileManager.default.contents(atPath: source) else {
                throw ExportError.writeFailed(path: source, reason: "cannot read the base's \(name)")
            }
            try write(data, to: join(directory, name))
            copied.append(name)
        }
        return copied
    }

    static func write(_ text: String, to path: String) throws {
        try write(Data(text.utf8), to: path)
    }

    static func write(_ data: Data, to path: String) throws {
        do {
            try AtomicFile.write(data, to: path)
        } catch {
            throw ExportError.writeFailed(path: path, reason: error.localizedDescription)
        }
    }
}
