import Autodiff
import ChatData
import Llama

extension Trainer {
    /// Token-weighted mean NLL over the eval set (no gradients).
    public func evaluate() -> Double? {
        guard !data.eval.isEmpty else { return nil }
        var batches = makeMicroBatches(data.eval, batchSize: recipe.train.batchSize, packing: recipe.data.packing,
                                       maxSeqLen: recipe.data.maxSeqLen, shuffle: false, seed: 0, epoch: 0)
        if let cap = recipe.eval.maxBatches { batches = Array(batches.prefix(cap)) }
        var nll = 0.0, count = 0
        for micro in batches {
            let batch = ModelBatch(micro)
            nll += Double(model.lossSum(batch, tape: Tape(recording: false)).value[0])
            count += batch.targetCount
        }
        return count > 0 ? nll / Double(count) : nil
    }
}
