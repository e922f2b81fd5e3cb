import Autodiff
import ChatData
import Foundation
import Llama
import SafeTensors
import Tensors

/// Errors that stop a training run (the last checkpoint is left intact).
public struct TrainingError: LocalizedError, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var errorDescription: String? { message }
}

/// How to run: resume choice and where messages go.
public struct TrainOptions {
    /// A checkpoint folder to resume from (default: the output dir's latest, if any).
    public var resume: String?
    /// Start over: move an existing output dir aside (never deleted) and begin at step 0.
    public var restart = false
    /// Receives every line for the terminal.
    public var log: (String) -> Void = { print($0) }
    /// Live progress bar (a TTY) instead of periodic plain lines.
    public var progressBar = false
    /// Called after each optimizer step (its metrics line and any checkpoint written) with the step
    /// number; the stop signals are checked right after it, so a test can stop a run at an exact step.
    public var afterStep: ((Int) -> Void)?
    public init() {}
}

public struct TrainSummary: Sendable {
    public var steps: Int
    public var finalLoss: Double?
    public var evalLoss: Double?
    public var outputDir: String
    public var adapterDir: String?
    /// The signal that stopped the run early (SIGINT/SIGTERM), or nil when it finished.
    public var stoppedBySignal: Int32?
}

/// One LoRA SFT run: recipe → data → model + adapters → AdamW steps → checkpoints and adapter.
public final class Trainer {
    public let recipe: Recipe
    public let model: LlamaModel
    public let adapters: LoRAAdapters
    public let data: PreparedData
    public let optimizer: AdamW
    public let schedule: LRSchedule
    public private(set) var state: TrainerState
    let options: TrainOptions
    let parameters: [Variable]
    let parameterNames: [String]
    private var epochCache: (epoch: Int, batches: [MicroBatch])?

    public init(recipe: Recipe, options: TrainOptions = TrainOptions()) throws {
        self.recipe = recipe
        self.options = options
        Threads.configure(recipe.train.threads)
        let fm = FileManager.default
        let out = recipe.outputDir
        // A run already training into this folder must not see its files moved or cleaned.
        if fm.fileExists(atPath: out) { try OutputLock.check(directory: out) }

        if options.restart, fm.fileExists(atPath: out), !((try? fm.contentsOfDirectory(atPath: out)) ?? []).isEmpty {
            let stamp = ISO8601DateFormatter().string(from: Date()).replacingOccurrences(of: ":", with: "")
            var aside = out + ".old-" + stamp
            var n = 1
            while fm.fileExists(atPath: aside) {  // two restarts within a second: never overwrite the first
                n += 1
                aside = out + ".old-" + stamp + "-\(n)"
            }
            do { try fm.moveItem(atPath: out, toPath: aside) } catch {
                throw TrainingError("--restart: cannot move the previous run \(out) aside to \(aside): \(error.localizedDescription). Move or remove it yourself, or choose another output_dir.")
            }
            options.log("--restart: moved the previous run to \(aside)")
        }
        do { try fm.createDirectory(atPath: out, withIntermediateDirectories: true) } catch {
            throw TrainingError("cannot create the output directory \(out): \(error.localizedDescription)")
        }
        Checkpoints.cleanTemporaries(out)

        // Resume point: explicit (a checkpoint folder, or an output dir: its latest), else the newest
        // complete checkpoint of this output dir.
        var resumePath = options.restart ? nil : Checkpoints.latest(out)
        if let chosen = options.resume, !options.restart {
            guard let path = Checkpoints.isComplete(chosen) ? chosen : Checkpoints.latest(chosen) else {
                throw TrainingError("--resume \(chosen): not a complete checkpoint (a folder with adapter_model.safetensors, adapter_config.json, optimizer.safetensors, trainer_state.json and recipe.json) nor an output dir that has one; checkpoints are <output_dir>/checkpoints/step-NNNNNN")
            }
            resumePath = path
        }
        var loaded: Checkpoints.Loaded?

        let config = try LlamaConfig.load(path: recipe.model)
        let model = LlamaModel(weights: try LlamaWeights.load(directory: recipe.model, config: config,
                                                              cacheFloat32: Trainer.shouldCacheFloat32(config)))
        let tokenizer = try loadTokenizer(recipe, vocabularySize: config.vocabSize)
        data = try DataPipeline.prepare(recipe.dataOptions, tokenizer: tokenizer)
        guard !data.train.isEmpty else {
            throw TrainingError("\(recipe.data.train): no usable training example (every record was skipped or had no trained token); see `llama-sft data`")
        }
        if let bad = (data.train + data.eval).lazy.flatMap(\.ids).first(where: { $0 < 0 || $0 >= config.vocabSize }) {
            throw TrainingError("the data has token id \(bad) but the model's vocabulary is 0..<\(config.vocabSize): is the tokenizer the model's own?")
        }
        for warning in Trainer.untrainedSpecialRows(model.weights.embedding, tokenizer: tokenizer, template: recipe.data.template) {
            options.log("warning: " + warning)
        }
        let dataFingerprint = Trainer.fingerprint(data.train)
        let modelFingerprint = try Trainer.fingerprint(model: model.weights, configPath: recipe.model)

        // Adapters: same construction path for a fresh run and a resume (base frozen, LoRA attached).
        let adapters: LoRAAdapters
        if let resumePath {
            let peek = try Checkpoints.load(resumePath, parameterNames: [])
            let changed = recipe.mathChanges(since: peek.recipe)
            guard changed.isEmpty else {
                throw TrainingError("cannot resume from \(resumePath): these recipe keys changed since it was written: \(changed.joined(separator: ", ")). Restore them, or start over with --restart.")
            }
            // The same data file name with other content would silently change the math.
            if let was = peek.state.dataFingerprint, was != dataFingerprint {
                throw TrainingError("cannot resume from \(resumePath): the training data changed since it was written (\(recipe.data.train) now gives \(data.train.count) examples\(peek.state.trainExamples.map { ", then \($0)" } ?? ""), fingerprint \(dataFingerprint), then \(was)). Restore the data, or start over with --restart.")
            }
            // The same model path with other weights (say base instead of instruct) would too.
            if let was = peek.state.modelFingerprint, was != modelFingerprint {
                throw TrainingError("cannot resume from \(resumePath): the base model at \(recipe.model) changed since it was written (fingerprint \(modelFingerprint), then \(was)). Point \"model\" at the model the run started with, or start over with --restart.")
            }
            adapters = try PEFTAdapter.load(directory: resumePath, model: config).0
            loaded = try Checkpoints.load(resumePath, parameterNames: adapters.namedParameters.map(\.name))
        } else if let initFrom = recipe.lora.initFrom {
            let (a, _) = try PEFTAdapter.load(directory: initFrom, model: config)
            let want = recipe.loraConfig
            guard a.config.rank == want.rank, a.config.alpha == want.alpha, a.config.targets == want.targets, a.config.rslora == want.rslora else {
                throw TrainingError("lora.init_from \(initFrom): the adapter has r=\(a.config.rank), alpha=\(a.config.alpha), rslora=\(a.config.rslora), targets \(a.config.targets.map(\.rawValue)); the recipe says r=\(want.rank), alpha=\(want.alpha), rslora=\(want.rslora), targets \(want.targets.map(\.rawValue)). Make them agree.")
            }
            adapters = LoRAAdapters(config: want, pairs: a.pairs)  // the recipe's dropout applies
        } else {
            adapters = LoRAAdapters.initialize(recipe.loraConfig, model: config, seed: UInt64(recipe.train.seed))
        }
        model.adapters = adapters
        self.model = model
        self.adapters = adapters
        parameters = adapters.namedParameters.map(\.variable)
        parameterNames = adapters.namedParameters.map(\.name)
        optimizer = AdamW(parameters: parameters, beta1: Float(recipe.optimizer.betas[0]), beta2: Float(recipe.optimizer.betas[1]),
                          eps: Float(recipe.optimizer.eps), weightDecay: Float(recipe.optimizer.weightDecay))

        var state = TrainerState()
        state.seed = recipe.train.seed
        state.baseLR = recipe.optimizer.lr
        state.recipeHash = recipe.mathFingerprint
        if let loaded {
            optimizer.restore(m: loaded.m, v: loaded.v, step: loaded.adamStep)
            state = loaded.state
            state.recipeHash = recipe.mathFingerprint
        }
        state.dataFingerprint = dataFingerprint
        state.modelFingerprint = modelFingerprint
        state.trainExamples = data.train.count
        let total = Trainer.totalSteps(recipe: recipe, examples: data.train)
        schedule = LRSchedule(type: recipe.schedule.type, totalSteps: total, warmupSteps: recipe.schedule.warmupSteps,
                              warmupRatio: recipe.schedule.warmupRatio, minLrRatio: recipe.schedule.minLrRatio)
        state.totalSteps = total
        state.warmupSteps = schedule.warmupSteps
        self.state = state
        if let loaded {
            options.log("resuming from \(loaded.path) (step \(loaded.state.step) of \(total), epoch \(loaded.state.epoch), batch \(loaded.state.indexInEpoch))")
        }
    }

    /// FNV-1a 64 over the prepared training examples (every id and trained flag, in order): identifies
    /// the data a checkpoint was trained on, beyond the file name the recipe gives.
    static func fingerprint(_ examples: [Example]) -> String {
        var hasher = FNV1a64()
        for e in examples {
            hasher.add(word: UInt64(e.ids.count))
            for (id, t) in zip(e.ids, e.trained) { hasher.add(word: UInt64(truncatingIfNeeded: id) << 1 | UInt64(t & 1)) }
        }
        return hasher.hex
    }

    /// REFERENCE §11 #6: a base (non-instruct) model has never trained the chat template's control
    /// tokens; their embedding rows are (near) zero, and the frozen embeddings stay that way, which gives
    /// garbage or NaNs. Flags rows whose norm is under 1 % of the typical row's.
    static func untrainedSpecialRows(_ embedding: FrozenWeight, tokenizer: any ChatTokenizer, template: ChatTemplate) -> [String] {
        let names = template == .chatml ? ["<|im_start|>", "<|im_end|>"] : ["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
        let row = Tensor(uninitialized: [embedding.columns])
        func norm(_ r: Int) -> Float {
            embedding.copyRow(r, to: row.data)
            return dot(row.data, row.data, row.count).squareRoot()
        }
        let sample = stride(from: 0, to: embedding.rows, by: max(1, embedding.rows / 512)).map(norm).sorted()
        guard let typical = sample.isEmpty ? nil : sample[sample.count / 2], typical > 0 else { return [] }
        return names.compactMap { name in
            guard let id = tokenizer.specialTokenID(name), id < embedding.rows else { return nil }
            let n = norm(id)
            return n < 0.01 * typical
                ? "the embedding row of \(name) (id \(id)) is near zero (norm \(n) vs a typical \(typical)): this looks like a base model that never saw the chat template. Train from the Instruct model, or expect poor results (embeddings are frozen)."
                : nil
        }
    }

    /// FNV-1a over config.json, every tensor's name, dtype and shape, and the first 256 bytes of each
    /// tensor's data: cheap (a page per tensor), and it tells a base checkpoint from an instruct one
    /// of the same architecture.
    static func fingerprint(model: LlamaWeights, configPath: String) throws -> String {
        var hasher = FNV1a64()
        func mix<S: Sequence>(_ bytes: S) where S.Element == UInt8 { hasher.add(bytes: bytes) }
        var isDir: ObjCBool = false
        let config = FileManager.default.fileExists(atPath: configPath, isDirectory: &isDir) && isDir.boolValue
            ? (configPath as NSString).appendingPathComponent("config.json") : configPath
        if let gguf = model.gguf {
            // A GGUF file holds its config in its header (metadata and tensor entries); never read the whole file.
            mix(gguf.headerBytes)
            for t in gguf.tensors { mix(UnsafeRawBufferPointer(rebasing: gguf.bytes(of: t).prefix(256))) }
            return hasher.hex
        }
        mix(FileManager.default.contents(atPath: config) ?? Data())
        if let files = model.source {
            for name in files.names.sorted() {
                guard let info = try files.info(name) else { continue }
                mix("\(name) \(info.dtype.rawValue) \(info.shape)".utf8)
                let raw = try files.rawBytes(name)
                mix(UnsafeRawBufferPointer(rebasing: raw.prefix(256)))
            }
        }
        return hasher.hex
    }

    /// Widen 16-bit base weights once when their fp32 copy takes under 40 % of physical memory.
    static func shouldCacheFloat32(_ c: LlamaConfig) -> Bool {
        Double(c.parameterCount) * 4 < 0.4 * Double(ProcessInfo.processInfo.physicalMemory)
    }

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
        var z = UInt64(recipe.train.seed) &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(step) &* 0xBF58_476D_1CE4_E5B9 &+ UInt64(j) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return z
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
        var nll = 0.0, tokens = 0
        for (j, micro) in take.enumerated() {
            let batch = ModelBatch(micro)
            tokens += batch.tokenCount
            let tape = Tape()
            let sum = model.lossSum(batch, tape: tape, checkpointing: recipe.train.gradientCheckpointing,
                                    dropoutSeed: dropoutSeed(step: state.step, micro: j))
            nll += Double(sum.value[0])
            tape.backward(from: sum, seedScale: 1 / Float(max(n, 1)))
        }
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

    /// Runs to the end (or to a stop signal), checkpointing on the way.
    public func run() throws -> TrainSummary {
        let out = recipe.outputDir
        let lock = try OutputLock(directory: out)
        defer { withExtendedLifetime(lock) {} }
        let log = options.log
        let metricsPath = (out as NSString).appendingPathComponent("metrics.jsonl")
        let metrics = try MetricsLog(path: metricsPath, keepThrough: state.step)
        do { try AtomicFile.write(recipe.jsonData, to: (out as NSString).appendingPathComponent("recipe.json")) } catch {
            throw TrainingError("cannot write \(out)/recipe.json: \(error.localizedDescription); is the output directory writable?")
        }
        printHeader()
        let total = schedule.totalSteps
        let progress = Progress(total: total, bar: options.progressBar, log: log)
        let clock = ContinuousClock()
        let started = clock.now
        let elapsedBefore = state.elapsedSeconds
        var lastCheckpointStep = state.step
        var evalLoss: Double?
        if state.step >= total {
            log("the run already finished at step \(state.step) of \(total): nothing to train. To train longer raise train.max_steps or train.epochs; to start over use --restart.")
        }

        while state.step < total && StopSignals.requested == 0 {
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
            if recipe.eval.everySteps > 0 && state.step % recipe.eval.everySteps == 0 && state.step < total, let e = evaluate() {
                evalLoss = e
                record["eval_loss"] = e
                record["eval_ppl"] = Foundation.exp(e)
                state.lastEvalLoss = e
                state.bestEvalLoss = min(state.bestEvalLoss ?? e, e)
            }
            try metrics.append(record)
            progress.update(step: state.step, loss: r.loss, lr: r.lr, tokensPerSecond: Double(r.tokens) / max(dt, 1e-9), evalLoss: record["eval_loss"] as? Double)
            if recipe.checkpoint.everySteps > 0 && state.step % recipe.checkpoint.everySteps == 0 && state.step < total {
                try saveCheckpoint()
                lastCheckpointStep = state.step
            }
            if state.step % 5 == 0 || state.step == total { writeLossCurve(metrics) }
            options.afterStep?(state.step)
        }
        progress.finish()

        if let sig = StopSignals.requested as Int32?, sig != 0 {
            let saved: String
            if state.step > lastCheckpointStep {
                try saveCheckpoint()
                saved = "checkpoint written"
            } else {
                saved = state.step > 0 ? "its checkpoint was already written" : "nothing to save"
            }
            writeLossCurve(metrics)
            log("stopped by \(sig == SIGINT ? "SIGINT" : "SIGTERM") after step \(state.step) of \(total); \(saved).")
            if state.step > 0 {
                log("resume with: llama-sft train <the same recipe>   (it continues from \(Checkpoints.name(step: state.step)))")
            }
            return TrainSummary(steps: state.step, finalLoss: state.lastLoss, evalLoss: evalLoss, outputDir: out, adapterDir: nil, stoppedBySignal: sig)
        }

        // The final evaluation, unless this is a resumed run that already has it (one that finished before):
        // resuming a finished run must not append a second line or rewrite its checkpoint.
        let finalEvalLogged = metrics.records.contains {
            ($0["step"] as? NSNumber)?.intValue == state.step && $0["loss"] == nil && $0["eval_loss"] != nil
        }
        var evaluatedNow = false
        if finalEvalLogged {
            evalLoss = state.lastEvalLoss
        } else if let e = evaluate() {
            evalLoss = e
            evaluatedNow = true
            state.lastEvalLoss = e
            state.bestEvalLoss = min(state.bestEvalLoss ?? e, e)
            try metrics.append(["step": state.step, "eval_loss": e, "eval_ppl": Foundation.exp(e)])
        }
        // In-process the last step is never checkpointed inside the loop; a run resumed at its end
        // saves again only when the final evaluation changed its state.
        if state.step > lastCheckpointStep || evaluatedNow || Checkpoints.latest(out) == nil { try saveCheckpoint() }
        let adapterDir = (out as NSString).appendingPathComponent("adapter")
        do { try PEFTAdapter.save(adapters, baseModel: recipe.model, to: adapterDir) } catch {
            throw TrainingError("cannot write the final adapter to \(adapterDir): \(error.localizedDescription); the last checkpoint is intact")
        }
        writeLossCurve(metrics)
        log(String(format: "done: %d steps, last loss %.4f%@, %.1f s", state.step, state.lastLoss ?? .nan,
                   evalLoss.map { String(format: ", eval loss %.4f (ppl %.2f)", $0, Foundation.exp($0)) } ?? "", state.elapsedSeconds))
        log("adapter: \(adapterDir)   metrics: \(metricsPath)")
        return TrainSummary(steps: state.step, finalLoss: state.lastLoss, evalLoss: evalLoss, outputDir: out, adapterDir: adapterDir, stoppedBySignal: nil)
    }

    func saveCheckpoint() throws {
        // The loss and gradient are checked every step; a poisoned optimizer state can still make the
        // update itself non-finite. Such tensors must never replace a good checkpoint or adapter.
        if let bad = adapters.namedParameters.first(where: { p in !UnsafeBufferPointer(start: p.variable.value.data, count: p.variable.value.count).allSatisfy(\.isFinite) }) {
            throw TrainingError("step \(state.step): the update left non-finite values in \(bad.name); not writing a checkpoint or adapter (the last checkpoint is intact). Lower optimizer.lr, or resume from an earlier checkpoint with --resume.")
        }
        try Checkpoints.save(outputDir: recipe.outputDir, state: state, recipe: recipe, adapters: adapters, optimizer: optimizer,
                             keepLast: recipe.checkpoint.keepLast)
    }

    func writeLossCurve(_ metrics: MetricsLog) {
        let (train, eval) = metrics.curves
        let svg = LossCurve.svg(train: train, eval: eval, title: "llama-sft: \((recipe.outputDir as NSString).lastPathComponent)")
        try? AtomicFile.write(Data(svg.utf8), to: (recipe.outputDir as NSString).appendingPathComponent("loss.svg"))
    }

    func printHeader() {
        let c = model.config, s = data.stats
        let log = options.log
        log("model      \(recipe.model)")
        log("           \(c.numLayers) layers, hidden \(c.hiddenSize), heads \(c.numHeads)/\(c.numKVHeads), vocab \(c.vocabSize), \(c.parameterCount.formatted()) parameters")
        log("LoRA       r=\(adapters.config.rank) alpha=\(adapters.config.alpha)\(adapters.config.rslora ? " (rsLoRA)" : "") dropout=\(adapters.config.dropout) on \(adapters.config.targets.map(\.rawValue).joined(separator: ","))")
        log("           \(adapters.parameterCount.formatted()) trainable parameters")
        log("data       \(data.train.count) train examples, \(data.eval.count) eval; \(s.train.tokens.formatted()) tokens, \(s.train.trainedTargets.formatted()) trained (\(String(format: "%.1f", s.train.trainedFraction * 100)) %)")
        log("steps      \(schedule.totalSteps) (batch \(recipe.train.batchSize) × grad_accum \(recipe.train.gradAccum)), \(recipe.schedule.type.rawValue) lr \(recipe.optimizer.lr), warmup \(schedule.warmupSteps); threads \(Threads.count)")
        log("output     \(recipe.outputDir)")
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}

extension Int {
    func formatted() -> String {
        let s = String(self)
        var out = ""
        for (i, ch) in s.reversed().enumerated() {
            if i > 0 && i % 3 == 0 && ch != "-" { out.append(",") }
            out.append(ch)
        }
        return String(out.reversed())
    }
}
