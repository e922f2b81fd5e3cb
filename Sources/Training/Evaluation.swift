import Autodiff
import ChatData
import Llama

extension Trainer {
    /// Token-weighted mean NLL over the eval set (no gradients); nil without an eval set. In a distributed
    /// run the batches are dealt round robin and each one's sums reduced in its own slot, so the result is
    /// the one-process one. With `stoppable` (the final evaluation), a single process also returns nil
    /// when a stop signal arrives midway (checked between batches, so Ctrl-C never waits for it). A
    /// periodic evaluation is not cut short: its step's metrics line would lose the eval loss for good,
    /// since the resumed run continues after that step.
    public func evaluate(stoppable: Bool = false) throws -> Double? {
        guard !data.eval.isEmpty else { return nil }
        var batches = makeMicroBatches(data.eval, batchSize: recipe.train.batchSize, packing: recipe.data.packing,
                                       maxSeqLen: recipe.data.maxSeqLen, shuffle: false, seed: 0, epoch: 0)
        if let cap = recipe.eval.maxBatches { batches = Array(batches.prefix(cap)) }
        var nll = [Double](repeating: 0, count: batches.count), counts = nll
        for j in world.share(of: batches.count) {
            if stoppable && world.size == 1 && StopSignals.requested != 0 { return nil }
            let batch = ModelBatch(batches[j])
            nll[j] = Double(model.lossSum(batch, tape: Tape(recording: false)).value[0])
            counts[j] = Double(batch.targetCount)
        }
        try reduceEval(nll: &nll, counts: &counts)
        let count = Int(counts.reduce(0, +))
        return count > 0 ? nll.reduce(0, +) / Double(count) : nil
    }

    /// Evaluates and keeps the result in the state; a loss that is not finite is reported and not
    /// kept (JSON and the trainer state have no NaN), and training goes on.
    func evaluateAndRecord(stoppable: Bool = false) throws -> Double? {
        guard let e = try evaluate(stoppable: stoppable) else { return nil }
        guard e.isFinite else {
            options.log("warning: step \(state.step): the eval loss is \(e); not recorded. The training loss is finite, so look at the eval data (is it the same template and tokenizer?) or lower optimizer.lr.")
            return nil
        }
        state.lastEvalLoss = e
        state.bestEvalLoss = min(state.bestEvalLoss ?? e, e)
        return e
    }
}
