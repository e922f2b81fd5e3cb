import Foundation

/// Why a dataset record was rejected. The raw value is the stable code used in stats and skip counts.
public enum InvalidReason: String, Sendable, Hashable, CaseIterable, Comparable {
    case malformedJSON = "malformed_json"
    case notAnObject = "not_an_object"
    case missingField = "missing_field"
    case nonStringContent = "non_string_content"
    case unknownRole = "unknown_role"
    case systemNotFirst = "system_not_first"
    case noAssistant = "no_assistant"
    case badTokenized = "bad_tokenized"

    /// How to fix a record rejected for this reason.
    public var fix: String {
        switch self {
        case .malformedJSON: return "make the line one complete JSON object (one record per line in JSONL)"
        case .notAnObject: return "each record must be a JSON object such as {\"messages\": [...]}"
        case .missingField: return "add the field, or set \"format\" to the dataset's real format"
        case .nonStringContent: return "make every message content a JSON string"
        case .unknownRole: return "use the roles system, user or assistant (ShareGPT: system, human, gpt)"
        case .systemNotFirst: return "move the system message to the start, or drop it"
        case .noAssistant: return "add an assistant message: only assistant content is trained"
        case .badTokenized:
            return "give input_ids (ints below the vocabulary size) with labels of the same length (-100 = not trained, otherwise equal to input_ids at the same position: unshifted, as in Hugging Face) or a 0/1 trained mask"
        }
    }

    public static func < (lhs: InvalidReason, rhs: InvalidReason) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Errors of the data pipeline. Every message names the file (and line or key), what is wrong and the fix.
public enum ChatDataError: Error, LocalizedError, Sendable, Equatable {
    /// The dataset file cannot be read.
    case unreadableFile(path: String, reason: String)
    /// An output file (the `--dump` file) cannot be written.
    case unwritableFile(path: String, reason: String)
    /// The file is neither JSONL nor a JSON array (first non-space byte is not `{` or `[`).
    case unknownFileKind(path: String, detail: String)
    /// A record is invalid and `on_invalid` is `error`.
    case invalidRecord(source: RecordSource, reason: InvalidReason, detail: String)
    /// A Parquet file is damaged, or uses a feature or column shape the reader does not support.
    /// `location` names the place in the file (footer, row group, column, page).
    case parquet(path: String, location: String, problem: String, fix: String)
    /// The JSON array around the records is broken (e.g. unterminated), so records cannot be located.
    case malformedFile(path: String, line: Int, detail: String)
    /// No record tells which format the file holds.
    case undetectableFormat(path: String, keys: [String])
    /// The template needs a special token the tokenizer does not have.
    case missingSpecialToken(name: String, template: String)
    /// An option is out of range.
    case invalidOption(key: String, value: String, fix: String)
    /// Nothing is left to train on.
    case noExamples(path: String, detail: String)
    /// A built sequence does not hold exactly one BOS at index 0 (double BOS, REFERENCE §2.6).
    case bosInvariant(source: RecordSource, count: Int)

    public var errorDescription: String? {
        switch self {
        case let .unreadableFile(path, reason):
            return "\(path): cannot read the dataset (\(reason)); check the path in the recipe's \"train\"/\"eval\" key"
        case let .unwritableFile(path, reason):
            return "\(path): cannot write (\(reason)); check that the folder exists and is writable"
        case let .unknownFileKind(path, detail):
            return "\(path): not a JSONL, JSON-array or Parquet file (\(detail)); convert it to JSONL, one JSON object per line, or give Parquet files a .parquet name"
        case let .invalidRecord(source, reason, detail):
            return "\(source): \(detail) [\(reason.rawValue)]; fix: \(reason.fix), or set \"on_invalid\": \"skip\" to skip such records"
        case let .parquet(path, location, problem, fix):
            return "\(path): \(location): \(problem); \(fix)"
        case let .malformedFile(path, line, detail):
            return "\(path):\(line): \(detail); fix the JSON array (or use JSONL: one object per line)"
        case let .undetectableFormat(path, keys):
            let seen = keys.isEmpty ? "no keys" : "keys " + keys.joined(separator: ", ")
            return "\(path): cannot detect the dataset format from the first record (\(seen)); records need \"messages\", \"conversations\" (ShareGPT), \"input_ids\" or \"prompt\"+\"completion\", or set \"format\" explicitly"
        case let .missingSpecialToken(name, template):
            return "template \"\(template)\": the tokenizer has no special token \(name); choose the template that matches the model (llama3, llama3.1 or chatml)"
        case let .invalidOption(key, value, fix):
            return "data option \"\(key)\" = \(value) is invalid; \(fix)"
        case let .noExamples(path, detail):
            return "\(path): no training examples left (\(detail)); check the dataset, max_seq_len and train_on"
        case let .bosInvariant(source, count):
            return "\(source): the built sequence holds \(count) BOS tokens or not at index 0; exactly one BOS at index 0 is required (a pre-tokenized record must start with exactly one <|begin_of_text|>)"
        }
    }
}
