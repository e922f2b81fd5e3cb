/// A pre-tokenized record: ids and trained mask as given by the dataset.
public struct TokenizedRecord: Sendable {
    public var ids: [Int]
    public var trained: [UInt8]
    public var metadata: [String: String]
    public var source: RecordSource

    public init(ids: [Int], trained: [UInt8], metadata: [String: String] = [:], source: RecordSource) {
        self.ids = ids
        self.trained = trained
        self.metadata = metadata
        self.source = source
    }

    public var category: String? { metadata["category"] }
}

/// One valid record of a dataset file.
public enum DatasetRecord: Sendable {
    case conversation(Conversation)
    case tokenized(TokenizedRecord)

    public var source: RecordSource {
        switch self {
        case .conversation(let c): return c.source
        case .tokenized(let t): return t.source
        }
    }

    public var category: String? {
        switch self {
        case .conversation(let c): return c.category
        case .tokenized(let t): return t.category
        }
    }
}

/// The outcome of reading one dataset file.
public struct DatasetFile: Sendable {
    public var path: String
    /// The format used (resolved when `.auto` was asked).
    public var format: DatasetFormat
    /// Valid records in file order.
    public var records: [DatasetRecord]
    /// Records seen (non-empty lines or array elements), valid or not.
    public var recordCount: Int
    /// Skipped records per reason (only with `on_invalid: skip`).
    public var skipped: [InvalidReason: Int]
    /// The first few skip messages (file:line, reason), to show the user what was skipped.
    public var skipExamples: [String]
}
