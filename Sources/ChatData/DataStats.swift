/// Length and token figures of a set of examples.
public struct TokenStats: Sendable, Equatable {
    public var examples = 0
    public var tokens = 0
    /// Σ over examples of trained targets (trained[t] for t ≥ 1).
    public var trainedTargets = 0
    /// Example lengths (tokens) at the 50th, 90th and 99th percentile (nearest rank) and the maximum.
    public var p50 = 0, p90 = 0, p99 = 0, max = 0

    public init() {}

    public init(_ examples: [Example]) {
        self.examples = examples.count
        var lengths: [Int] = []
        lengths.reserveCapacity(examples.count)
        for example in examples {
            tokens += example.count
            trainedTargets += example.trainedTargets
            lengths.append(example.count)
        }
        lengths.sort()
        p50 = Self.nearestRank(lengths, 50)
        p90 = Self.nearestRank(lengths, 90)
        p99 = Self.nearestRank(lengths, 99)
        max = lengths.last ?? 0
    }

    /// Trained targets ÷ tokens (0 when empty).
    public var trainedFraction: Double { tokens == 0 ? 0 : Double(trainedTargets) / Double(tokens) }

    /// Nearest-rank percentile: the smallest value with at least p % of the values ≤ it.
    static func nearestRank(_ sorted: [Int], _ p: Int) -> Int {
        guard !sorted.isEmpty else { return 0 }
        let rank = (p * sorted.count + 99) / 100   // ceil(p/100 · n)
        return sorted[Swift.max(1, rank) - 1]
    }
}

/// One dataset file as read.
public struct DataFileSummary: Sendable, Equatable {
    public var path: String
    public var format: DatasetFormat
    public var records: Int
    public var valid: Int
    public var skipped: [InvalidReason: Int]
    /// Up to ``DatasetReader/skipExampleLimit`` skip messages (`file:line: why [reason]`).
    public var skipExamples: [String]
}

/// What the pipeline made of the dataset.
public struct DataStats: Sendable, Equatable {
    /// The train file, then the eval file if any.
    public var files: [DataFileSummary] = []
    /// Records seen in all files (non-empty lines / array elements).
    public var records = 0
    public var valid = 0
    /// Skipped records per reason, all files.
    public var skipped: [InvalidReason: Int] = [:]
    /// Examples cut to `max_seq_len` and kept (a trained target remained).
    public var truncated = 0
    /// Examples dropped because no trained target was left (after truncation).
    public var droppedUntrained = 0
    /// Examples dropped for being longer than `max_seq_len` with `truncation: drop`.
    public var droppedTooLong = 0
    /// Conversations with special-token text (e.g. `<|eot_id|>`) in some content, encoded as plain text.
    public var specialTextExamples = 0
    /// Conversations whose last message is not an assistant message (trailing turn kept, not trained).
    public var endingWithoutAssistant = 0
    /// Conversations that received `systemPrompt`.
    public var systemPromptAdded = 0
    public var train = TokenStats()
    public var eval = TokenStats()

    public init() {}

    /// All skipped records.
    public var skippedTotal: Int { skipped.values.reduce(0, +) }
    /// All dropped examples.
    public var dropped: Int { droppedUntrained + droppedTooLong }
}

/// The pipeline's output. Examples are in dataset order (before any shuffling).
public struct PreparedData: Sendable {
    public var train: [Example]
    public var eval: [Example]
    public var stats: DataStats

    public init(train: [Example], eval: [Example], stats: DataStats) {
        self.train = train
        self.eval = eval
        self.stats = stats
    }
}
