import Foundation
import RunLayout
import SafeTensors
import Tensors

/// What a run shows besides its metrics lines: the header it prints before the first step and the
/// `loss.svg` it keeps up to date.
extension Trainer {
    func printHeader() {
        let c = model.config, s = data.stats
        let log = options.log
        log("model      \(recipe.model)")
        log("           \(c.numLayers) layers, hidden \(c.hiddenSize), heads \(c.numHeads)/\(c.numKVHeads), vocab \(c.vocabSize), \(c.parameterCount.digitsGrouped) parameters")
        log("LoRA       r=\(adapters.config.rank) alpha=\(adapters.config.alpha)\(adapters.config.rslora ? " (rsLoRA)" : "") dropout=\(adapters.config.dropout) on \(adapters.config.targets.map(\.rawValue).joined(separator: ","))")
        log("           \(adapters.parameterCount.digitsGrouped) trainable parameters")
        log("data       \(data.train.count) train examples, \(data.eval.count) eval; \(s.train.tokens.digitsGrouped) tokens, \(s.train.trainedTargets.digitsGrouped) trained (\(String(format: "%.1f", s.train.trainedFraction * 100)) %)")
        log("steps      \(schedule.totalSteps) (batch \(recipe.train.batchSize) × grad_accum \(recipe.train.gradAccum)), \(recipe.schedule.type.rawValue) lr \(recipe.optimizer.lr), warmup \(schedule.warmupSteps); threads \(Threads.count)")
        log("compute    \(PrecisionReport.line(recipe.train.precision))")
        log("output     \(recipe.outputDir)")
        if world.size > 1 { log(rankLine) }
    }

    func writeLossCurve(_ metrics: MetricsLog) {
        let (train, eval) = metrics.curves
        let svg = LossCurve.svg(train: train, eval: eval, title: "llama-sft: \((recipe.outputDir as NSString).lastPathComponent)")
        try? AtomicFile.write(Data(svg.utf8), to: (recipe.outputDir as NSString).appendingPathComponent(RunLayout.lossCurveFile))
    }
}
