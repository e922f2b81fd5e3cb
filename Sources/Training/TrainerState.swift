import Foundation

/// Where a run stands after an optimizer step; saved as `trainer_state.json` in every checkpoint.
///
/// Everything random is derived from `(seed, epoch)` (data order) or `(seed, step, micro-batch)`
/// (dropout masks), so this cursor plus the AdamW moments is the whole state of the run.
public struct TrainerState: Codable, Sendable, Equatable {
    public static let formatVersion = 1

    public var formatVersion = TrainerState.formatVersion
    /// Optimizer steps done.
    public var step = 0
    /// The epoch of the next micro-batch, and its index within that epoch's micro-batch list.
    public var epoch = 0
    public var indexInEpoch = 0
    /// A record for people and tools reading the file (as in transformers' `trainer_state.json`): the
    /// seed, schedule, token counts and losses below are not read back on resume; the schedule is
    /// recomputed from the recipe and `step`.
    public var seed = 0
    public var totalSteps = 0
    public var warmupSteps = 0
    public var baseLR = 0.0
    public var tokensSeen = 0
    public var trainedTokensSeen = 0
    public var bestEvalLoss: Double?
    public var lastLoss: Double?
    public var lastEvalLoss: Double?
    /// In precision bf16, the order in which the frozen-base products sum (`BF16Arithmetic`: the AMX
    /// and AVX-512 kernels differ in the last bits); absent in fp32 runs and older checkpoints.
    public var bf16Arithmetic: String?
    /// FNV-1a 64 of the math-relevant recipe keys, in hex (see `Recipe.mathFingerprint`).
    public var recipeHash = ""
    /// FNV-1a 64 of the prepared training examples and their number (absent in older checkpoints).
    public var dataFingerprint: String?
    /// Fingerprint of the base model's config and tensors (see `RunFingerprints`).
    public var modelFingerprint: String?
    public var trainExamples: Int?
    /// The precision the run computed with, as resolved on its CPU (`fp32` or `bf16`; `train.precision`
    /// `auto` resolves per CPU). Absent in older checkpoints.
    public var precision: String?
    public var elapsedSeconds = 0.0

    public init() {}

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version", step, epoch, indexInEpoch = "index_in_epoch", seed
        case totalSteps = "total_steps", warmupSteps = "warmup_steps", baseLR = "base_lr"
        case bf16Arithmetic = "bf16_arithmetic"
        case tokensSeen = "tokens_seen", trainedTokensSeen = "trained_tokens_seen"
        case bestEvalLoss = "best_eval_loss", lastLoss = "last_loss", lastEvalLoss = "last_eval_loss"
        case recipeHash = "recipe_hash", dataFingerprint = "data_fingerprint", modelFingerprint = "model_fingerprint", trainExamples = "train_examples"
        case precision
        case elapsedSeconds = "elapsed_seconds"
    }
}
