import Distributed
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
        // Under mpirun this is one rank of a data-parallel job (docs/distributed.md); else world is one process.
        let world: any Communicator
        do { world = try Launch.communicator() } catch { throw TrainingError(error.message) }
        var options = TrainOptions()
        options.resume = a.value("resume")
        options.restart = a.flag("restart")
        options.progressBar = isatty(STDOUT_FILENO) == 1
        // Into a file or a pipe (`| tee run.log`, a job scheduler's log) every line goes out when it is
        // printed, not when a 4 KiB buffer fills: the log shows where a long run is.
        if !options.progressBar { options.log = { FileHandle.standardOutput.write(Data(($0 + "\n").utf8)) } }
        options.world = world
        if world.rank != 0 {  // rank 0 speaks for the job
            options.log = { _ in }
            options.progressBar = false
        }
        StopSignals.install()
        defer { StopSignals.uninstall() }
        guard world.size > 1 else { return try train(a.positionals[0], options) }
        do {
            let code = try train(a.positionals[0], options)
            world.finish()
            return code
        } catch {
            // An error every rank found is reported once, and the job ends cleanly; an error of one rank
            // alone must stop the others, which would otherwise wait for it forever.
            let shared = (error as? TrainingError)?.everyRankKnows ?? false
            if world.rank == 0 || !shared {
                printError("llama-sft train (rank \(world.rank) of \(world.size)): error: \((error as? LocalizedError)?.errorDescription ?? "\(error)")")
            }
            if shared {
                world.finish()
                exit(1)
            }
            world.abort(code: 1)
        }
    }

    static func train(_ recipePath: String, _ options: TrainOptions) throws -> Int32 {
        let recipe = try Recipe.load(path: recipePath)
        let trainer = try Trainer(recipe: recipe, options: options)
        let summary = try trainer.run()
        if let sig = summary.stoppedBySignal { return 128 + sig }
        return 0
    }
}
