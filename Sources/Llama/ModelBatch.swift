import Autodiff

/// Token rows for one forward pass, flattened without padding.
///
/// Every document (a sequence of a batch, or one document of a packed row) is a segment that attends
/// causally to itself only, with RoPE positions restarting at 0 — so padding never exists and a
/// packed document computes exactly what it would alone (docs/formats.md, Packing).
public struct ModelBatch: Sendable {
    public let ids: [Int]            // [N]
    public let positions: [Int]      // [N], restarting per document
    public let segments: [Segment]
    /// Rows whose logits are scored, and the token each must predict.
    public let lossPositions: [Int]
    public let lossTargets: [Int]

    public init(ids: [Int], positions: [Int], segments: [Segment], lossPositions: [Int], lossTargets: [Int]) {
        self.ids = ids; self.positions = positions; self.segments = segments
        self.lossPositions = lossPositions; self.lossTargets = lossTargets
    }

    /// Documents with per-token trained masks: `logits[t]` predicts `ids[t+1]` and counts iff
    /// `trained[t+1] == 1` (docs/formats.md, Loss masking), so a document's first token is never a target.
    public init(documents: [(ids: [Int], trained: [UInt8])]) {
        var ids: [Int] = [], positions: [Int] = [], segments: [Segment] = []
        var lossPositions: [Int] = [], lossTargets: [Int] = []
        for doc in documents {
            let start = ids.count
            segments.append(Segment(start: start, length: doc.ids.count))
            ids.append(contentsOf: doc.ids)
            positions.append(contentsOf: 0..<doc.ids.count)
            for t in 1..<max(doc.ids.count, 1) where doc.trained[t] != 0 {
                lossPositions.append(start + t - 1)
                lossTargets.append(doc.ids[t])
            }
        }
        self.init(ids: ids, positions: positions, segments: segments, lossPositions: lossPositions, lossTargets: lossTargets)
    }

    /// Sequences with Hugging Face labels: unshifted, −100 = ignored; `logits[t]` is scored against
    /// `labels[t+1]`.
    public init(sequences: [[Int]], labels: [[Int]]?) {
        var ids: [Int] = [], positions: [Int] = [], segments: [Segment] = []
        var lossPositions: [Int] = [], lossTargets: [Int] = []
        for (i, seq) in sequences.enumerated() {
            let start = ids.count
            segments.append(Segment(start: start, length: seq.count))
            ids.append(contentsOf: seq)
            positions.append(contentsOf: 0..<seq.count)
            if let labels {
                for t in 0..<max(seq.count - 1, 0) where labels[i][t + 1] != -100 {
                    lossPositions.append(start + t)
                    lossTargets.append(labels[i][t + 1])
                }
            }
        }
        self.init(ids: ids, positions: positions, segments: segments, lossPositions: lossPositions, lossTargets: lossTargets)
    }

    public var tokenCount: Int { ids.count }
    public var targetCount: Int { lossPositions.count }
}
