/// A chat role. Datasets may spell them differently (ShareGPT `human`/`gpt`); readers map them here.
public enum Role: String, Sendable, Hashable, CaseIterable {
    case system, user, assistant
}

/// One chat message. `content` is plain text: special-token strings inside it are never control tokens.
public struct Message: Sendable, Hashable {
    public var role: Role
    public var content: String

    public init(role: Role, content: String) {
        self.role = role
        self.content = content
    }
}

/// Where a record came from: file path, 1-based line of its first byte, 0-based record index in the file.
///
/// `record` counts every non-empty JSONL line (or JSON array element), valid or not, so for a file without
/// empty lines `record == line - 1`. In a Parquet file `record` is the 0-based row, `line` is `record + 1`,
/// and `rowGroup` is the row group that holds the row.
public struct RecordSource: Sendable, Hashable, CustomStringConvertible {
    public let file: String
    public let line: Int
    public let record: Int
    public let rowGroup: Int?

    public init(file: String, line: Int, record: Int, rowGroup: Int? = nil) {
        self.file = file
        self.line = line
        self.record = record
        self.rowGroup = rowGroup
    }

    /// `file:line`, the form editors and error messages use; `file: row R (row group G)` for Parquet.
    public var description: String {
        if let rowGroup { return "\(file): row \(record) (row group \(rowGroup))" }
        return "\(file):\(line)"
    }
}

/// A validated conversation with the record's other string fields kept as metadata (never trained).
///
/// For no_robots this keeps `prompt`, `prompt_id` and `category`.
public struct Conversation: Sendable {
    public var messages: [Message]
    /// Top-level string fields of the record other than the messages (e.g. `prompt_id`, `category`).
    public var metadata: [String: String]
    public var source: RecordSource

    public init(messages: [Message], metadata: [String: String] = [:], source: RecordSource) {
        self.messages = messages
        self.metadata = metadata
        self.source = source
    }

    /// The no_robots `category`, used to stratify the eval split.
    public var category: String? { metadata["category"] }
}
