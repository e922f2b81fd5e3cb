import ChatData
import Llama

extension ModelBatch {
    /// The model input of a micro-batch: every document of every row is its own causal segment with
    /// positions restarting at 0; targets where the trained mask is 1 (never a document's first token).
    public init(_ micro: MicroBatch) {
        var docs: [(ids: [Int], trained: [UInt8])] = []
        for row in micro.rows {
            var start = 0
            for length in row.documentLengths {
                docs.append((Array(row.ids[start..<(start + length)]), Array(row.trained[start..<(start + length)])))
                start += length
            }
        }
        self.init(documents: docs)
    }
}
