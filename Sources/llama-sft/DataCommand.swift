import ChatData
import Foundation
import Training

/// `llama-sft data recipe.json [--show N] [--dump FILE.jsonl]`: what the data pipeline makes of the
/// recipe's dataset, without loading the model.
enum DataCommand {
    static let usage = "usage: llama-sft data RECIPE.json [--show N] [--dump FILE.jsonl [--force]]"

    static func run(_ args: [String]) throws -> Int32 {
        let a = try Arguments(args, valued: ["show", "dump"], switches: ["force"])
        guard a.positionals.count == 1 else { throw UsageError("which recipe?\n\(usage)") }
        let recipe = try Recipe.load(path: a.positionals[0])
        let show = try a.int("show", default: 2, in: 0...Int.max)
        if let dump = a.value("dump") {
            let inputs = [a.positionals[0], recipe.data.train, recipe.data.eval, recipe.tokenizer, recipe.model].compactMap { $0 }
            try OutputFileGuard.check(dump, flag: "dump", force: a.flag("force"), inputs: inputs)
        }
        let tokenizer = try loadTokenizerForData(recipe)
        let data = try DataPipeline.prepare(recipe.dataOptions, tokenizer: tokenizer)
        print(DataReport.statsText(data.stats))
        let colour = isatty(STDOUT_FILENO) == 1
        for example in data.train.prefix(max(0, show)) {
            print("\n--- example (record \(example.record)): \(example.count) tokens, \(example.trainedTargets) trained ---")
            print(DataReport.renderExample(example, tokenizer: tokenizer, colour: colour))
        }
        if let dump = a.value("dump") {
            try DataReport.writeDump(data.train, to: dump)
            print("\nwrote \(data.train.count) examples to \(dump)")
        }
        return 0
    }
}
