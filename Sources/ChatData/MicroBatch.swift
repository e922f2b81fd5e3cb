/// A group of rows processed in one forward/backward pass.
public struct MicroBatch: Sendable, Equatable {
    public let rows: [PackedRow]
    /// Σ over rows of trained targets (trained[t] for t ≥ 1 within each document). The trainer sums this over
    /// the micro-batches of an optimizer step to normalise the loss (docs/formats.md, Loss masking).
    public var trainedTargets: Int

    public init(rows: [PackedRow]) {
        self.rows = rows
        trainedTargets = rows.reduce(0) { $0 + $1.trainedTargets }
    }

    /// Total tokens over rows.
    public var tokenCount: Int { rows.reduce(0) { $0 + $1.ids.count } }
}

/// The micro-batches of one epoch, a pure function of its arguments.
///
/// Order: `epochOrder(count:seed:epoch:)` when `shuffle`, else dataset order. Rows: ``packRows(_:order:maxSeqLen:packing:)``.
/// Micro-batches: consecutive groups of `batchSize` rows (values below 1 count as 1); the last may be
/// smaller. The trainer stores (epoch, index of the next micro-batch) and calls this again on resume.
public func makeMicroBatches(_ examples: [Example], batchSize: Int, packing: Bool, maxSeqLen: Int, shuffle: Bool,
                             seed: UInt64, epoch: Int) -> [MicroBatch] {
    let order = shuffle ? epochOrder(count: examples.count, seed: seed, epoch: epoch) : Array(examples.indices)
    let rows = packRows(examples, order: order, maxSeqLen: maxSeqLen, packing: packing)
    let size = max(1, batchSize)
    return stride(from: 0, to: rows.count, by: size).map { start in
        MicroBatch(rows: Array(rows[start..<min(start + size, rows.count)]))
    }
}
