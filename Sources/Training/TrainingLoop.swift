import Foundation
import Llama
import RunLayout
import SafeTensors

/// Phase 3 of a run: the loop. Each optimizer step is followed by its evaluation (every
/// `eval.every_steps`), its metrics line, its checkpoint (every `checkpoint.every_steps`) and a look at
/// the stop signals. A stop writes a checkpoint and returns; the end of the run evaluates once more,
/// checkpoints and writes the final adapter.
extension Trainer {
    /// Where the loop stood when it left: the last step that has a checkpoint and the last eval loss.
    struct LoopOutcome {
        var lastCheckpointStep: Int
        var evalLoss: Double?
    }

    /// Runs to the end (or to a stop signal), checkpointing on the way. The output directory stays
    /// locked until this returns.
    public func run() throws -> TrainSummary {
        defer { directory?.release() }
        let metrics = try startRecords()
        printHeader()
        let outcome = try trainSteps(metrics: metrics)
        let sig = stopSignal
        if sig != 0 { return try stop(by: sig, outcome: outcome, metrics: metrics) }
        return try finish(outcome: outcome, metrics: metrics)
    }

    /// Opens `metrics.jsonl` (trimmed to the resume step) and writes the resolved `recipe.json`; nil on
    /// the ranks other than 0 of a distributed run, which write nothing.
    func startRecords() throws -> MetricsLog? {
        guard world.rank == 0 else { return nil }
        let out = recipe.outputDir
        let metrics = try MetricsLog(path: metricsPath, keepThrough: state.step)
        do { try AtomicFile.write(recipe.jsonData, to: (out as NSString).appendingPathComponent(RunLayout.recipeFile)) } catch {
            throw TrainingError("cannot write \(out)/recipe.json: \(error.localizedDescription); is the output directory writable?")
        }
        return metrics
    }

    var metricsPath: String { (recipe.outputDir as NSString).appendingPathComponent(RunLayout.metricsFile) }

    /// Steps until the schedule's end or a stop signal.
    func trainSteps(metrics: MetricsLog?) throws -> LoopOutcome {
        let total = schedule.totalSteps
        let progress = Progress(total: total, bar: options.progressBar, log: options.log)
        let clock = ContinuousClock()
        let started = clock.now
        let elapsedBefore = state.elapsedSeconds
        var outcome = LoopOutcome(lastCheckpointStep: state.step, evalLoss: nil)
        if state.step >= total {
            options.log("the run already finished at step \(state.step) of \(total): nothing to train. To train longer raise train.max_steps or train.epochs; to start over use --restart.")
        }

        // Where the loss starts, so the first periodic evaluation has something to be compared with
        // (every rank evaluates; rank 0 records it once).
        if state.step == 0 && total > 0 && recipe.eval.everySteps > 0, let e = try evaluateAndRecord() {
            outcome.evalLoss = e
            if let metrics, !metrics.records.contains(where: { ($0["step"] as? NSNumber)?.intValue == 0 && $0["eval_loss"] != nil }) {
                try metrics.append(["step": 0, "eval_loss": e, "eval_ppl": Foundation.exp(e)])
            }
            options.log(String(format: "step 0: eval loss %.4f (ppl %.2f) before training", e, Foundation.exp(e)))
        }

        while state.step < total && stopSignal == 0 {
            let t0 = clock.now
            let r = try step()
            let dt = (clock.now - t0).seconds
            state.elapsedSeconds = elapsedBefore + (clock.now - started).seconds
            let epochPosition = Double(state.epoch) + Double(state.indexInEpoch) / Double(max(1, batches(epoch: state.epoch).count))
            var record: [String: Any] = [
                "step": state.step, "epoch": (epochPosition * 1000).rounded() / 1000, "loss": r.loss, "lr": r.lr,
                "grad_norm": r.gradNorm, "trained_tokens": r.trained, "tokens": r.tokens,
                "tokens_per_s": (Double(r.tokens) / max(dt, 1e-9) * 10).rounded() / 10,
                "elapsed_s": (state.elapsedSeconds * 100).rounded() / 100,
            ]
            if world.size > 1 {
                record["comm_s"] = (lastStepCommunication.seconds * 1e4).rounded() / 1e4
                record["comm_wait_s"] = (lastStepCommunication.waiting * 1e4).rounded() / 1e4
                record["reduced_bytes"] = lastStepCommunication.bytes
            }
            if recipe.eval.everySteps > 0 && state.step % recipe.eval.everySteps == 0 && state.step < total, let e = try evaluateAndRecord() {
                outcome.evalLoss = e
                record["eval_loss"] = e
                record["eval_ppl"] = Foundation.exp(e)
            }
            try metrics?.append(record)
            progress.update(step: state.step, loss: r.loss, lr: r.lr, tokensPerSecond: Double(r.tokens) / max(dt, 1e-9), evalLoss: record["eval_loss"] as? Double)
            if recipe.checkpoint.everySteps > 0 && state.step % recipe.checkpoint.everySteps == 0 && state.step < total {
                try saveCheckpoint()
                outcome.lastCheckpointStep = state.step
            }
            if state.step % 5 == 0 || state.step == total, let metrics { writeLossCurve(metrics) }
            options.afterStep?(state.step)
        }
        progress.finish()
        return outcome
    }

    /// A stop signal arrived: checkpoint the steps done since the last checkpoint and say how to resume.
    func stop(by sig: Int32, outcome: LoopOutcome, metrics: MetricsLog?) throws -> TrainSummary {
        let saved: String
        if state.step > outcome.lastCheckpointStep {
            try saveCheckpoint()
            saved = "checkpoint written"
        } else {
            saved = state.step > 0 ? "its checkpoint was already written" : "nothing to save"
        }
        if let metrics { writeLossCurve(metrics) }
        options.log("stopped by \(sig == SIGINT ? "SIGINT" : "SIGTERM") after step \(state.step) of \(schedule.totalSteps); \(saved).")
        if state.step > 0 {
            options.log("resume with: llama-sft train <the same recipe>   (it continues from \(Checkpoints.name(step: state.step)))")
        }
        return TrainSummary(steps: state.step, finalLoss: state.lastLoss, evalLoss: outcome.evalLoss, outputDir: recipe.outputDir,
                            adapterDir: nil, stoppedBySignal: sig)
    }

    /// The end of the schedule: the final evaluation, the last checkpoint and the adapter.
    func finish(outcome: LoopOutcome, metrics: MetricsLog?) throws -> TrainSummary {
        let out = recipe.outputDir
        var evalLoss = outcome.evalLoss
        // The final evaluation, unless this is a resumed run that already has it (one that finished before):
        // resuming a finished run must not append a second line or rewrite its checkpoint.
        let finalEvalLogged = try agree(metrics?.records.contains {
            ($0["step"] as? NSNumber)?.intValue == state.step && $0["loss"] == nil && $0["eval_loss"] != nil
        } ?? false)
        var evaluatedNow = false
        if !finalEvalLogged && !data.eval.isEmpty {
            // A large eval set takes a while after the last step line: say what is running.
            options.log("final evaluation: \(data.eval.count.digitsGrouped) examples")
        }
        if finalEvalLogged {
            evalLoss = state.lastEvalLoss
        } else if let e = try evaluateAndRecord(stoppable: true) {
            evalLoss = e
            evaluatedNow = true
            try metrics?.append(["step": state.step, "eval_loss": e, "eval_ppl": Foundation.exp(e)])
        }
        // A signal during the final evaluation stops there, like one anywhere else (exit 130/143).
        let sig = stopSignal
        if sig != 0 { return try stop(by: sig, outcome: outcome, metrics: metrics) }
        // In-process the last step is never checkpointed inside the loop; a run resumed at its end
        // saves again only when the final evaluation changed its state.
        if try agree(state.step > outcome.lastCheckpointStep || evaluatedNow || Checkpoints.latest(out) == nil) { try saveCheckpoint() }
        let adapterDir = (out as NSString).appendingPathComponent(RunLayout.finalAdapterFolder)
        if let metrics {  // rank 0
            do { try PEFTAdapter.save(adapters, baseModel: recipe.model, to: adapterDir) } catch {
                throw TrainingError("cannot write the final adapter to \(adapterDir): \(error.localizedDescription); the last checkpoint is intact")
            }
            writeLossCurve(metrics)
        }
        if world.size > 1 { options.log(communicationSummary) }
        options.log(String(format: "done: %d steps, last loss %.4f%@, %.1f s", state.step, state.lastLoss ?? .nan,
                           evalLoss.map { String(format: ", eval loss %.4f (ppl %.2f)", $0, Foundation.exp($0)) } ?? "", state.elapsedSeconds))
        options.log("adapter: \(adapterDir)   metrics: \(metricsPath)")
        return TrainSummary(steps: state.step, finalLoss: state.lastLoss, evalLoss: evalLoss, outputDir: out, adapterDir: adapterDir, stoppedBySignal: nil)
    }

    /// The signal that stops the loop: in a distributed run the one all ranks agreed on at the last
    /// step, so every rank leaves the loop after the same step.
    var stopSignal: Int32 { world.size > 1 ? agreedStop : StopSignals.requested }

    /// Checks that the ranks agree (distributed runs), then rank 0 writes.
    func saveCheckpoint() throws {
        try checkRanksAgree(what: "before writing a checkpoint")
        guard world.rank == 0 else { return }
        // The loss and gradient are checked every step; a poisoned optimizer state can still make the
        // update itself non-finite. Such tensors must never replace a good checkpoint or adapter.
        if let bad = adapters.namedParameters.first(where: { p in !UnsafeBufferPointer(start: p.variable.value.data, count: p.variable.value.count).allSatisfy(\.isFinite) }) {
            throw TrainingError("step \(state.step): the update left non-finite values in \(bad.name); not writing a checkpoint or adapter (the last checkpoint is intact). Lower optimizer.lr, or resume from an earlier checkpoint with --resume.")
        }
        try Checkpoints.save(outputDir: recipe.outputDir, state: state, recipe: recipe, adapters: adapters, optimizer: optimizer,
                             keepLast: recipe.checkpoint.keepLast)
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
