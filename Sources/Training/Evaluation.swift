import Autodiff
import ChatData
import Llama

extension Trainer {
    /// Token-weighted mean NLL over the eval set (no gradients); nil without an eval set, or when a stop
    /// signal arrives midway (it is checked between batches, so Ctrl-C never waits for a whole
    /// evaluation).
    public func evaluate() -> Double? {
        guard !data.eval.isEmpty else { return nil }
        var batches = makeMicroBatches(data.eval, batchSize: recipe.train.batchSize, packing: recipe.data.packing,
                                       maxSeqLen: recipe.data.maxSeqLen, shuffle: false, seed: 0, epoch: 0)
        if let cap = recipe.eval.maxBatches { batches = Array(batches.prefix(cap)) }
        var nll = 0.0, count = 0
        for micro in batches {
            if StopSignals.requested != 0 { return nil }
            let batch = ModelBatch(micro)
            nll += Double(model.lossSum(batch, tape: Tape(recording: false)).value[0])
            count += batch.targetCount
        }
        return count > 0 ? nll / Double(count) : nil
    }

    /// Evaluates and keeps the result in the state; a loss that is not finite is reported and not
    /// kept (JSON and the trainer state have no NaN), and training goes on.
    func evaluateAndRecord() -> Double? {
        guard let e = evaluate() else { return nil }
        guard e.isFinite else {
            options.log("warning: step \(state.step): the eval loss is \(e); not recorded. The training loss is finite, so look at the eval data (is it the same template and tokenizer?) or lower optimizer.lr.")
            return nil
        }
        state.lastEvalLoss = e
        state.bestEvalLoss = min(state.bestEvalLoss ?? e, e)
        return e
    }
}
