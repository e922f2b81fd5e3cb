/// One training sequence: token ids and which of them are training targets.
///
/// `trained[t] == 1` means token `t` is a target: the logits at `t − 1` are scored against `ids[t]`
/// (docs/formats.md, Loss masking). The first token of a sequence is never a target, whatever `trained[0]` says.
public struct Example: Sendable, Equatable {
    /// 0-based index of the source record in its file (see ``RecordSource/record``).
    public let record: Int
    public let ids: [Int]
    /// 0/1 per token, same length as `ids`.
    public let trained: [UInt8]
    /// The record's `category` (no_robots), for stratified evaluation.
    public let category: String?

    public init(record: Int, ids: [Int], trained: [UInt8], category: String? = nil) {
        self.record = record
        self.ids = ids
        self.trained = trained
        self.category = category
    }

    /// Number of tokens.
    public var count: Int { ids.count }

    /// Σ trained[t] for t ≥ 1: the number of scored targets.
    public var trainedTargets: Int { Self.targets(trained[...]) }

    static func targets(_ mask: ArraySlice<UInt8>) -> Int {
        var n = 0
        for t in mask.indices.dropFirst() { n += Int(mask[t]) }
        return n
    }
}

/// What to do with a sequence longer than `max_seq_len`.
public enum Truncation: String, Sendable, CaseIterable {
    /// Keep the first `max_seq_len` tokens (as TRL's `keep_start`). An assistant turn cut before its
    /// `<|eot_id|>` then teaches no stop; examples left without any trained target are dropped.
    case keepStart = "keep_start"
    /// Drop the whole example (counted in ``DataStats/droppedTooLong``).
    case drop
}
