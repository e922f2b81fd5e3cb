import Autodiff
import ChatData
import Distributed
import Foundation
import Llama
import Tensors

/// Errors that stop a training run (the last checkpoint is left intact).
public struct TrainingError: LocalizedError, Sendable {
    public let message: String
    /// Every rank of a distributed job found this same error (so rank 0 alone reports it).
    public let everyRankKnows: Bool
    public init(_ message: String, everyRankKnows: Bool = false) {
        self.message = message
        self.everyRankKnows = everyRankKnows
    }
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
    /// The processes training this model together (one, unless started by mpirun): rank 0 alone
    /// owns the output directory (docs/distributed.md).
    public var world: any Communicator = SingleProcess()
    /// Caps the memory a step may plan to use below what the system reports as available (nil: the
    /// system's figure alone). Tests set it to check the out-of-memory refusal without a model the
    /// size of the machine.
    public var memoryLimit: Int?
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
///
/// A run goes through three phases, each in its own file:
/// 1. the run directory (`RunDirectory`): lock, `--restart`, cleanup of interrupted writes, resume point;
/// 2. the setup (`TrainingSetup`): model, data, adapters, optimizer, schedule and state;
/// 3. the loop (`run()` in `TrainingLoop.swift`): step (`TrainingStep.swift`), evaluate
///    (`Evaluation.swift`), log, checkpoint, stop.
/// `init` does phases 1 and 2; `run()` does phase 3 and releases the directory when it returns.
public final class Trainer {
    public let recipe: Recipe
    public let model: LlamaModel
    public let adapters: LoRAAdapters
    public let data: PreparedData
    public let optimizer: AdamW
    public let schedule: LRSchedule
    public internal(set) var state: TrainerState
    let options: TrainOptions
    /// Rank 0's hold on the output directory (nil on the other ranks of a distributed run).
    let directory: RunDirectory?
    let parameters: [Variable]
    var epochCache: (epoch: Int, batches: [MicroBatch])?
    var world: any Communicator { options.world }
    /// The stop signal all ranks agreed on at the last step (distributed runs only).
    var agreedStop: Int32 = 0
    /// Seconds and bytes of the last step's exchanges (distributed runs only).
    var lastStepCommunication: (seconds: Double, waiting: Double, bytes: Int) = (0, 0, 0)
    /// Steps whose gradients this process exchanged (distributed runs only).
    var exchangedSteps = 0
    /// Every LoRA gradient end to end, for the exchanges of a step (distributed runs only).
    lazy var flatGradients = Tensor(zeros: [parameters.reduce(0) { $0 + $1.value.count }])

    public init(recipe: Recipe, options: TrainOptions = TrainOptions()) throws {
        self.recipe = recipe
        self.options = options
        Threads.configure(recipe.train.threads)
        // The other ranks of a distributed run start fresh and receive rank 0's state in joinRanks.
        let inputs = [recipe.model, recipe.tokenizer, recipe.data.train, recipe.data.eval, recipe.lora.initFrom].compactMap { $0 }
        directory = options.world.rank == 0
            ? try RunDirectory(path: recipe.outputDir, inputs: inputs, restart: options.restart, resume: options.resume, log: options.log) : nil
        let available = [ProcessMemory.availableBytes, options.memoryLimit].compactMap { $0 }.min()
        let setup = try TrainingSetup(recipe: recipe, resumePoint: directory?.resumePoint, availableMemory: available, log: options.log)
        model = setup.model
        data = setup.data
        adapters = setup.adapters
        optimizer = setup.optimizer
        schedule = setup.schedule
        state = setup.state
        parameters = adapters.namedParameters.map(\.variable)
        try joinRanks()
    }
}
