import Autodiff
import ChatData
import Distributed
import Foundation
import Llama
import Seeds

/// One optimizer step, and the data order it walks: the micro-batches of each epoch.
extension Trainer {
    /// N: `max_steps`, else Σ over epochs of ceil(micro-batches / grad_accum). A step never spans two
    /// epochs (the last step of an epoch may have fewer micro-batches).
    static func totalSteps(recipe: Recipe, examples: [Example]) -> Int {
        if let m = recipe.train.maxSteps { return m }
        var n = 0
        for e in 0..<recipe.train.epochs {
            let count = epochBatches(recipe: recipe, examples: examples, epoch: e).count
            n += (count + recipe.train.gradAccum - 1) / recipe.train.gradAccum
        }
        return n
    }

    static func epochBatches(recipe: Recipe, examples: [Example], epoch: Int) -> [MicroBatch] {
        makeMicroBatches(examples, batchSize: recipe.train.batchSize, packing: recipe.data.packing, maxSeqLen: recipe.data.maxSeqLen,
                         shuffle: recipe.data.shuffle, seed: UInt64(recipe.train.seed), epoch: epoch)
    }

    func batches(epoch: Int) -> [MicroBatch] {
        if let c = epochCache, c.epoch == epoch { return c.batches }
        let b = Trainer.epochBatches(recipe: recipe, examples: data.train, epoch: epoch)
        epochCache = (epoch, b)
        return b
    }

    /// The dropout seed of micro-batch `j` of optimizer step `step` (counter-based: nothing to store).
    func dropoutSeed(step: Int, micro j: Int) -> UInt64 {
        deriveSeed(UInt64(recipe.train.seed), step, j)
    }

    /// One optimizer step over the next `grad_accum` micro-batches. Returns (loss, grad norm, lr,
    /// tokens, trained tokens) and advances the cursor.
    func step() throws -> (loss: Double, gradNorm: Double, lr: Double, tokens: Int, trained: Int) {
        var list = batches(epoch: state.epoch)
        while state.indexInEpoch >= list.count {
            state.epoch += 1
            state.indexInEpoch = 0
            list = batches(epoch: state.epoch)
        }
        let take = Array(list[state.indexInEpoch..<min(state.indexInEpoch + recipe.train.gradAccum, list.count)])
        // Loss = Σ NLL over the step's trained tokens ÷ their number (never a mean of micro-batch means).
        let n = take.reduce(0) { $0 + $1.trainedTargets }
        adapters.zeroGrads()
        // Micro-batch j goes to rank j mod N (all of them to a lone process), in rounds of N. With N > 1
        // each micro-batch's gradient is computed on its own and the exchange adds them in micro-batch
        // order (docs/distributed.md); one process accumulates them in that order directly.
        var slots = [Double](repeating: 0, count: take.count)  // each micro-batch's NLL sum
        var tokens = 0, trainedHere = 0
        for round in 0..<Deal.rounds(of: take.count, size: world.size) {
            let j = round * world.size + world.rank
            if world.size > 1 { adapters.zeroGrads() }
            if j < take.count {
                let batch = ModelBatch(take[j])
                tokens += batch.tokenCount
                trainedHere += take[j].trainedTargets
                let tape = Tape()
                let sum = model.lossSum(batch, tape: tape, checkpointing: recipe.train.gradientCheckpointing,
                                        dropoutSeed: dropoutSeed(step: state.step, micro: j))
                slots[j] = Double(sum.value[0])
                tape.backward(from: sum, seedScale: 1 / Float(max(n, 1)))
            }
            if world.size > 1 { try exchangeGradients(round: round, of: take.count) }
        }
        if world.size > 1 { tokens = try reduceStep(nll: &slots, tokens: tokens, trained: trainedHere, expectedTrained: n) }
        let nll = slots.reduce(0, +)
        let loss = nll / Double(max(n, 1))
        let norm = Double(clipGradients(parameters, maxNorm: recipe.optimizer.maxGradNorm.map { Float($0) }))
        guard loss.isFinite, norm.isFinite else {
            throw TrainingError("step \(state.step + 1): the \(loss.isFinite ? "gradient norm" : "loss") is \(loss.isFinite ? norm : loss); stopping before the update. The last checkpoint is intact. Lower optimizer.lr, or check the data and base model (untrained special-token rows of a base model are a known cause).")
        }
        let lr = recipe.optimizer.lr * schedule.factor(step: state.step)
        optimizer.update(parameters, lr: lr)
        state.step += 1
        state.indexInEpoch += take.count
        if state.indexInEpoch >= list.count {
            state.epoch += 1
            state.indexInEpoch = 0
        }
        state.tokensSeen += tokens
        state.trainedTokensSeen += n
        state.lastLoss = loss
        return (loss, norm, lr, tokens, n)
    }
}
