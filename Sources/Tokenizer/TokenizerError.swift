import Foundation

/// Why a tokenizer could not be loaded. Every case names the file (or directory) it is about.
public enum TokenizerError: LocalizedError, CustomStringConvertible, Equatable, Sendable {
    /// Nothing exists at the path.
    case fileNotFound(path: String)
    /// A directory without `tokenizer.json` or `tokenizer.model`.
    case noTokenizerInDirectory(directory: String)
    /// The file exists but could not be read.
    case unreadable(path: String, reason: String)
    /// A binary SentencePiece `tokenizer.model` (Llama 1/2, TinyLlama, Mistral …).
    case sentencePieceModel(path: String)
    /// `tokenizer.json` is not valid JSON, or lacks / mistypes a key. `key` is a JSON path like `model.vocab`.
    case malformedJSON(path: String, key: String?, reason: String)
    /// A valid file that uses a feature this tokenizer does not implement.
    case unsupported(path: String, feature: String, hint: String)
    /// A `tokenizer.model` line that is not `base64 rank`.
    case malformedTiktokenLine(path: String, line: Int, reason: String)
    /// `tokenizer.model` ranks are not exactly 0..<count, each once.
    case nonDenseRanks(path: String, line: Int?, reason: String)
    /// An inconsistent vocabulary or merge entry (e.g. a merge that names an unknown token).
    case inconsistentVocabulary(path: String, key: String, reason: String)

    /// Same as `errorDescription`, so `"\(error)"` prints the helpful message.
    public var description: String { errorDescription ?? "tokenizer error" }

    public var errorDescription: String? {
        switch self {
        case .fileNotFound(let path):
            return "tokenizer: no file or directory at '\(path)'. Pass a model directory holding tokenizer.json or tokenizer.model, or the path of one of those files."
        case .noTokenizerInDirectory(let directory):
            return "tokenizer: directory '\(directory)' has neither tokenizer.json nor tokenizer.model. Copy the tokenizer files of the base model into it or point to them directly."
        case .unreadable(let path, let reason):
            return "tokenizer: cannot read '\(path)': \(reason). Check the path and its permissions."
        case .sentencePieceModel(let path):
            return "tokenizer: '\(path)' is a binary SentencePiece model (as used by Llama 1/2, TinyLlama or Mistral), which is not supported. Only byte-level BPE is: use the model's tokenizer.json, or Meta's Llama 3 tiktoken tokenizer.model."
        case .malformedJSON(let path, let key, let reason):
            let at = key.map { " at key '\($0)'" } ?? ""
            return "tokenizer: '\(path)' is not a valid tokenizer.json\(at): \(reason). Re-download the file from the model repository."
        case .unsupported(let path, let feature, let hint):
            return "tokenizer: '\(path)' uses \(feature), which is not supported. \(hint)"
        case .malformedTiktokenLine(let path, let line, let reason):
            return "tokenizer: '\(path)' line \(line): \(reason). Each line must be 'BASE64TOKEN RANK'; re-download tokenizer.model."
        case .nonDenseRanks(let path, let line, let reason):
            let at = line.map { " line \($0)" } ?? ""
            return "tokenizer: '\(path)'\(at): \(reason). The ranks of a tiktoken file must be 0, 1, 2, … with none missing or repeated; re-download tokenizer.model."
        case .inconsistentVocabulary(let path, let key, let reason):
            return "tokenizer: '\(path)' at '\(key)': \(reason). The vocabulary and merges do not fit together; re-download the file."
        }
    }
}
