import Foundation
import Tensors
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
        // Bounds well above any real Llama (vocab 128256, hidden 16384, 126 layers), so that every
        // product below stays far from overflow; the memory check then decides what this machine holds.
        o.vocabularySize = try a.int("vocab", default: 1024, in: 272...1 << 20)
        o.hiddenSize = try a.int("hidden", default: 128, in: 2...1 << 16)
        o.layers = try a.int("layers", default: 4, in: 1...1024)
        o.heads = try a.int("heads", default: 4, in: 1...1024)
        o.kvHeads = try a.int("kv-heads", default: 2, in: 1...1024)
        o.intermediateSize = try a.int("intermediate", default: 384, in: 1...1 << 18)
        o.seed = UInt64(try a.int("seed", default: 0, in: 0...Int.max))
        guard o.vocabularySize >= 256 + 16, o.heads > 0, o.kvHeads > 0, o.heads % o.kvHeads == 0, o.hiddenSize % o.heads == 0,
              (o.hiddenSize / o.heads) % 2 == 0 else {
            throw UsageError("inconsistent shape: need vocab ≥ 272, heads a multiple of kv-heads, hidden/heads even")
        }
        // The weights are made in fp32 before they are written as bf16: refuse before creating anything.
        let perLayer = 2 * o.hiddenSize * o.hiddenSize + 2 * o.hiddenSize * (o.hiddenSize / o.heads * o.kvHeads)
            + 3 * o.hiddenSize * o.intermediateSize + 2 * o.hiddenSize
        let parameters = o.layers * perLayer + 2 * o.vocabularySize * o.hiddenSize + o.hiddenSize
        let needed = parameters * 6  // fp32 while made + bf16 while written
        if let available = ProcessMemory.availableBytes, needed > available / 2 {
            throw UsageError("a model of \(parameters) parameters needs about \(needed >> 20) MiB to make, and this machine has \(available >> 20) MiB available; choose smaller --hidden, --layers, --vocab or --intermediate")
        }
        try TinyModel.create(o) { print($0) }
        return 0
    }
}
