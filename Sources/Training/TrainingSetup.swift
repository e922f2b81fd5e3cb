import ChatData
import Foundation
import Llama
import Tensors

/// Phase 2 of a run: everything it trains with, built from the recipe and the resume point: the model,
/// the prepared data (checked against the model), the adapters (fresh, from `lora.init_from`, or from
/// the checkpoint), AdamW, the LR schedule and the trainer state.
///
/// A fresh run and a resume take the same path; a resume differs only in where the adapters, the
/// optimizer moments and the state come from, after checking that the recipe, the data and the base
/// model are the ones the checkpoint was trained with.
struct TrainingSetup {
    let model: LlamaModel
    let data: PreparedData
    let adapters: LoRAAdapters
    let optimizer: AdamW
    let schedule: LRSchedule
    let state: TrainerState

    init(recipe: Recipe, resumePoint: String?, availableMemory: Int?, log: (String) -> Void) throws {
        let config = try LlamaConfig.load(path: recipe.model)
        let tokenizer = try loadTokenizer(recipe, vocabularySize: config.vocabSize)
        let data = try TrainingSetup.prepareData(recipe, tokenizer: tokenizer, config: config)
        // What this CPU makes of train.precision (auto: bf16 iff AVX512_BF16): a resume must get the same.
        let precision = recipe.train.precision.resolved()
        if let resumePoint { try TrainingSetup.checkPrecision(resumePoint, recipe: recipe, resolved: precision) }
        // Before the weights (their fp32 cache) or any adapter is allocated. bf16 packs the weights from
        // their stored form and keeps only the packed copy: an fp32 cache would only cost memory.
        let cacheFloat32 = precision == .fp32 && TrainingSetup.shouldCacheFloat32(config)
        try TrainingSetup.memoryNeeded(recipe, config: config, data: data, weightsInFloat32: cacheFloat32,
                                       encodedWeightBytes: try LlamaWeights.encodedBytes(path: recipe.model), precision: precision)
            .check(available: availableMemory, what: "one training step of this recipe")
        let model = LlamaModel(weights: try LlamaWeights.load(directory: recipe.model, config: config, cacheFloat32: cacheFloat32))
        model.weights.prepare(precision: precision)
        for warning in Trainer.untrainedSpecialRows(model.weights.embedding, tokenizer: tokenizer, template: recipe.data.template) {
            log("warning: " + warning)
        }
        let fingerprints = try RunFingerprints(data: data.train, model: model.weights, configPath: recipe.model)

        var loaded: Checkpoints.Loaded?
        let adapters: LoRAAdapters
        if let resumePoint {
            try TrainingSetup.checkResumable(resumePoint, recipe: recipe, data: data, fingerprints: fingerprints)
            adapters = try PEFTAdapter.load(directory: resumePoint, model: config).0
            loaded = try Checkpoints.load(resumePoint, parameterNames: adapters.namedParameters.map(\.name))
        } else {
            adapters = try TrainingSetup.newAdapters(recipe, config: config)
        }
        model.adapters = adapters

        let parameters = adapters.namedParameters.map(\.variable)
        let optimizer = AdamW(parameters: parameters, beta1: Float(recipe.optimizer.betas[0]), beta2: Float(recipe.optimizer.betas[1]),
                              eps: Float(recipe.optimizer.eps), weightDecay: Float(recipe.optimizer.weightDecay))
        if let loaded {
            do { try optimizer.restore(m: loaded.m, v: loaded.v, step: loaded.adamStep) } catch {
                throw CheckpointError("\(loaded.path)/optimizer.safetensors does not fit its adapter: \(error.localizedDescription). Resume from another checkpoint with --resume, or start over with --restart.")
            }
        }

        let total = Trainer.totalSteps(recipe: recipe, examples: data.train)
        let schedule = LRSchedule(type: recipe.schedule.type, totalSteps: total, warmupSteps: recipe.schedule.warmupSteps,
                                  warmupRatio: recipe.schedule.warmupRatio, minLrRatio: recipe.schedule.minLrRatio)

        self.model = model
        self.data = data
        self.adapters = adapters
        self.optimizer = optimizer
        self.schedule = schedule
        var state = TrainingSetup.state(recipe, loaded: loaded, data: data, fingerprints: fingerprints, schedule: schedule)
        state.precision = precision.rawValue
        self.state = state
        if let loaded {
            log("resuming from \(loaded.path) (step \(loaded.state.step) of \(total), epoch \(loaded.state.epoch), batch \(loaded.state.indexInEpoch))")
        }
    }

    /// The memory estimate of a step on the longest micro-batch this data makes.
    static func memoryNeeded(_ recipe: Recipe, config: LlamaConfig, data: PreparedData, weightsInFloat32: Bool,
                             encodedWeightBytes: Int? = nil, precision: Precision) -> StepMemory {
        let longest = (data.train + data.eval).lazy.map(\.count).max() ?? 0
        let perRow = recipe.data.packing ? recipe.data.maxSeqLen : longest
        return StepMemory(config: config, weightsInFloat32: weightsInFloat32, encodedWeightBytes: encodedWeightBytes,
                          rank: recipe.lora.rank, targets: recipe.lora.targets,
                          rows: recipe.train.batchSize, rowLength: perRow, longestSequence: longest, threads: Threads.count,
                          checkpointing: recipe.train.gradientCheckpointing, precision: precision)
    }

    /// Widen 16-bit base weights once when their fp32 copy takes under 40 % of physical memory.
    static func shouldCacheFloat32(_ c: LlamaConfig) -> Bool {
        Double(c.parameterCount) * 4 < 0.4 * Double(ProcessInfo.processInfo.physicalMemory)
    }

    /// The training and eval examples, refused when there is nothing to train or an id lies outside
    /// the model's vocabulary.
    private static func prepareData(_ recipe: Recipe, tokenizer: any ChatTokenizer, config: LlamaConfig) throws -> PreparedData {
        let data = try DataPipeline.prepare(recipe.dataOptions, tokenizer: tokenizer)
        guard !data.train.isEmpty else {
            throw TrainingError("\(recipe.data.train): no usable training example (every record was skipped or had no trained token); see `llama-sft data`")
        }
        if let bad = (data.train + data.eval).lazy.flatMap(\.ids).first(where: { $0 < 0 || $0 >= config.vocabSize }) {
            throw TrainingError("the data has token id \(bad) but the model's vocabulary is 0..<\(config.vocabSize): is the tokenizer the model's own?")
        }
        return data
    }

    /// A resume continues the same math: the recipe's math keys, the training data and the base model
    /// must be those the checkpoint was written with.
    private static func checkResumable(_ path: String, recipe: Recipe, data: PreparedData, fingerprints: RunFingerprints) throws {
        let peek = try Checkpoints.load(path, parameterNames: [])
        let changed = recipe.mathChanges(since: peek.recipe)
        guard changed.isEmpty else {
            throw TrainingError("cannot resume from \(path): these recipe keys changed since it was written: \(changed.joined(separator: ", ")). Restore them, or start over with --restart.")
        }
        // The same data file name with other content would silently change the math.
        if let was = peek.state.dataFingerprint, was != fingerprints.data {
            throw TrainingError("cannot resume from \(path): the training data changed since it was written (\(recipe.data.train) now gives \(data.train.count) examples\(peek.state.trainExamples.map { ", then \($0)" } ?? ""), fingerprint \(fingerprints.data), then \(was)). Restore the data, or start over with --restart.")
        }
        // So would bf16 products summed in another order (the AMX kernel's instead of AVX-512's).
        if let was = peek.state.bf16Arithmetic, was != bf16Arithmetic(recipe) {
            let now = bf16Arithmetic(recipe).map { "sums them in the \($0) order (bf16 kernel \(BF16Kernel.best.rawValue))" } ?? "computes them in fp32"
            let kernels = BF16Kernel.choices.filter { $0.arithmetic.rawValue == was }.map(\.rawValue).joined(separator: " or ")
            throw TrainingError("cannot resume from \(path): its bf16 products were summed in the \(was) order (bf16 kernel \(kernels)) and this CPU \(now), which changes the results. Resume on a CPU that runs the \(kernels) kernel, or start over with --restart.")
        }
        // The same model path with other weights (say base instead of instruct) would too.
        if let was = peek.state.modelFingerprint, was != fingerprints.model {
            throw TrainingError("cannot resume from \(path): the base model at \(recipe.model) changed since it was written (fingerprint \(fingerprints.model), then \(was)). Point \"model\" at the model the run started with, or start over with --restart.")
        }
    }

    /// The precision a checkpoint was trained with (as resolved on its CPU) must be the one this resume
    /// resolves to: `auto` can resolve differently on another CPU. (A changed `train.precision` value is
    /// refused with the other math keys.) Checkpoints written before the precision was recorded pass.
    static func checkPrecision(_ path: String, recipe: Recipe, resolved: Precision) throws {
        let peek = try Checkpoints.load(path, parameterNames: [])
        guard peek.recipe.train.precision == recipe.train.precision, let was = peek.state.precision, was != resolved.rawValue else { return }
        let here = recipe.train.precision == .auto
            ? "train.precision auto resolves to \(resolved.rawValue) on this CPU (\(CPUInfo.current.avx512bf16 ? "it has" : "no") AVX512_BF16)"
            : "train.precision is \(resolved.rawValue)"
        throw TrainingError("cannot resume from \(path): it was trained with precision \(was), but \(here). Resume on a CPU where it resolves to \(was), or start over with --restart.")
    }

    /// Adapters of a run at step 0: `lora.init_from`'s (which must match the recipe's LoRA shape), else
    /// freshly initialised from the seed.
    private static func newAdapters(_ recipe: Recipe, config: LlamaConfig) throws -> LoRAAdapters {
        guard let initFrom = recipe.lora.initFrom else {
            return LoRAAdapters.initialize(recipe.loraConfig, model: config, seed: UInt64(recipe.train.seed))
        }
        let (a, _) = try PEFTAdapter.load(directory: initFrom, model: config)
        let want = recipe.loraConfig
        guard a.config.rank == want.rank, a.config.alpha == want.alpha, a.config.targets == want.targets, a.config.rslora == want.rslora else {
            throw TrainingError("lora.init_from \(initFrom): the adapter has r=\(a.config.rank), alpha=\(a.config.alpha), rslora=\(a.config.rslora), targets \(a.config.targets.map(\.rawValue)); the recipe says r=\(want.rank), alpha=\(want.alpha), rslora=\(want.rslora), targets \(want.targets.map(\.rawValue)). Make them agree.")
        }
        return LoRAAdapters(config: want, pairs: a.pairs)  // the recipe's dropout applies
    }

    /// The checkpoint's state on resume (with this recipe's hash), else a state at step 0; either way
    /// stamped with this run's fingerprints, example count and schedule.
    private static func state(_ recipe: Recipe, loaded: Checkpoints.Loaded?, data: PreparedData,
                              fingerprints: RunFingerprints, schedule: LRSchedule) -> TrainerState {
        var state = TrainerState()
        state.seed = recipe.train.seed
        state.baseLR = recipe.optimizer.lr
        if let loaded { state = loaded.state }
        state.recipeHash = recipe.mathFingerprint
        state.dataFingerprint = fingerprints.data
        state.modelFingerprint = fingerprints.model
        state.trainExamples = data.train.count
        state.bf16Arithmetic = bf16Arithmetic(recipe)
        state.totalSteps = schedule.totalSteps
        state.warmupSteps = schedule.warmupSteps
        return state
    }

    /// The summation order of this run's bf16 products on this CPU (nil in fp32).
    private static func bf16Arithmetic(_ recipe: Recipe) -> String? {
        recipe.train.precision.resolved(for: .current) == .bf16 ? BF16Kernel.best.arithmetic.rawValue : nil
    }
}
