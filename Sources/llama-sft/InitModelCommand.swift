import Foundation
import Training

/// `llama-sft init-model`: makes the small random-weight base model (and its tokenizer) that the
/// quickstart fine-tunes. The committed checkpoints/tiny-base was made by the default invocation.
enum InitModelCommand {
    static let usage = """
    usage: llama-sft init-model [--data FILE.jsonl] [--out DIR] [--vocab N] [--hidden N] [--layers N]
                                [--heads N] [--kv-heads N] [--intermediate N] [--seed N]
    defaults: --data datasets/no_robots_sample/train.jsonl --out checkpoints/tiny-base --vocab 1024
              --hidden 128 --layers 4 --heads 4 --kv-heads 2 --intermediate 384 --seed 0
    """

    static func run(_ args: [String]) throws -> Int32 {
        let a = try Arguments(args, valued: ["data", "out", "vocab", "hidden", "layers", "heads", "kv-heads", "intermediate", "seed"], switches: [])
        guard a.positionals.isEmpty else { throw UsageError(usage) }
        var o = TinyModel.Options(data: a.value("data") ?? "datasets/no_robots_sample/train.jsonl", output: a.value("out") ?? "checkpoints/tiny-base")
        o.vocabularySize = try a.int("vocab", default: 1024)
        o.hiddenSize = try a.int("hidden", default: 128)
        o.layers = try a.int("layers", default: 4)
        o.heads = try a.int("heads", default: 4)
        o.kvHeads = try a.int("kv-heads", default: 2)
        o.intermediateSize = try a.int("intermediate", default: 384)
        o.seed = UInt64(try a.int("seed", default: 0))
        guard o.vocabularySize >= 256 + 16, o.heads > 0, o.kvHeads > 0, o.heads % o.kvHeads == 0, o.hiddenSize % o.heads == 0,
              (o.hiddenSize / o.heads) % 2 == 0 else {
            throw UsageError("inconsistent shape: need vocab ≥ 272, heads a multiple of kv-heads, hidden/heads even")
        }
        try TinyModel.create(o) { print($0) }
        return 0
    }
}
