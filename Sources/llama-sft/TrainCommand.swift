import Foundation
import Training

/// `llama-sft train recipe.json [--resume PATH] [--restart]`.
enum TrainCommand {
    static let usage = """
    usage: llama-sft train RECIPE.json [--resume CHECKPOINT_DIR] [--restart]

    Trains LoRA adapters as the recipe says (keys: docs/recipe.md). An output_dir that already has
    checkpoints is resumed from its latest one; --resume picks a checkpoint (or another output dir's
    latest); --restart moves the old run aside (it is never deleted) and starts at step 0. Ctrl-C
    finishes the current step, writes a checkpoint and exits (130; SIGTERM: 143); a second Ctrl-C
    exits at once without writing.
    """

    static func run(_ args: [String]) throws -> Int32 {
        let a = try Arguments(args, valued: ["resume"], switches: ["restart"])
        guard a.positionals.count == 1 else { throw UsageError(a.positionals.isEmpty ? "which recipe?\n\(usage)" : "one recipe at a time\n\(usage)") }
        if a.flag("restart") && a.value("resume") != nil { throw UsageError("--resume and --restart contradict each other") }
        let recipe = try Recipe.load(path: a.positionals[0])
        var options = TrainOptions()
        options.resume = a.value("resume")
        options.restart = a.flag("restart")
        options.progressBar = isatty(STDOUT_FILENO) == 1
        StopSignals.install()
        defer { StopSignals.uninstall() }
        let trainer = try Trainer(recipe: recipe, options: options)
        let summary = try trainer.run()
        if let sig = summary.stoppedBySignal { return 128 + sig }
        return 0
    }
}
