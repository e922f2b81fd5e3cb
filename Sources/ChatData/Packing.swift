/// One row of a micro-batch: one or more whole documents (examples) back to back, no padding.
///
/// The model treats each document as an independent causal segment: a block-diagonal causal mask, and
/// positions restarting at 0 for every document (docs/formats.md, Packing). `documentLengths` sums to `ids.count`.
public struct PackedRow: Sendable, Equatable {
    public let ids: [Int]
    public let trained: [UInt8]
    /// Token count of each document, in order.
    public let documentLengths: [Int]
    /// Indices (into the examples array given to ``makeMicroBatches(_:batchSize:packing:maxSeqLen:shuffle:seed:epoch:)``)
    /// of the documents, in order.
    public let examples: [Int]

    public init(ids: [Int], trained: [UInt8], documentLengths: [Int], examples: [Int]) {
        self.ids = ids
        self.trained = trained
        self.documentLengths = documentLengths
        self.examples = examples
    }

    /// Σ trained[t] for t ≥ 1 within each document: the first token of a document is never a target.
    public var trainedTargets: Int {
        var total = 0
        var start = 0
        for length in documentLengths {
            total += Example.targets(trained[start..<start + length])
            start += length
        }
        return total
    }

    /// Position of every token within its document (0, 1, … restarting per document).
    public var positions: [Int] {
        var out: [Int] = []
        out.reserveCapacity(ids.count)
        for length in documentLengths { out += 0..<length }
        return out
    }
}

/// Rows from examples visited in `order`.
///
/// Without packing each row is one example. With packing, next-fit greedy: examples are appended, in
/// order, to the current row while its length stays ≤ `maxSeqLen`; otherwise the row is closed and a new one
/// starts. An example longer than `maxSeqLen` (not possible after the pipeline's truncation) gets a row of its
/// own, never split.
public func packRows(_ examples: [Example], order: [Int], maxSeqLen: Int, packing: Bool) -> [PackedRow] {
    var rows: [PackedRow] = []
    var ids: [Int] = []
    var trained: [UInt8] = []
    var lengths: [Int] = []
    var members: [Int] = []
    func close() {
        if !members.isEmpty {
            rows.append(PackedRow(ids: ids, trained: trained, documentLengths: lengths, examples: members))
        }
        ids = []; trained = []; lengths = []; members = []
    }
    for index in order {
        let example = examples[index]
        if !packing || ids.count + example.count > maxSeqLen { close() }
        ids += example.ids
        trained += example.trained
        lengths.append(example.count)
        members.append(index)
    }
    close()
    return rows
}
