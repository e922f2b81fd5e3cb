import Autodiff
import ChatData
import Llama

extension Trainer {
    /// Token-weighted mean NLL over the eval set (no gradients). In a distributed run the batches are
    /// dealt round robin and each one's sums reduced in its own slot, so the result is the one-process one.
    public func evaluate() throws -> Double? {
        guard !data.eval.isEmpty else { return nil }
        var batches = makeMicroBatches(data.eval, batchSize: recipe.train.batchSize, packing: recipe.data.packing,
                                       maxSeqLen: recipe.data.maxSeqLen, shuffle: false, seed: 0, epoch: 0)
        if let cap = recipe.eval.maxBatches { batches = Array(batches.prefix(cap)) }
        var nll = [Double](repeating: 0, count: batches.count), counts = nll
        for j in world.share(of: batches.count) {
            let batch = ModelBatch(batches[j])
            nll[j] = Double(model.lossSum(batch, tape: Tape(recording: false)).value[0])
            counts[j] = Double(batch.targetCount)
        }
        try reduceEval(nll: &nll, counts: &counts)
        let count = Int(counts.reduce(0, +))
        return count > 0 ? nll.reduce(0, +) / Double(count) : nil
    }
}
