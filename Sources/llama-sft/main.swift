import Foundation

let version = "0.1.0"

let usage = """
llama-sft \(version): LoRA supervised fine-tuning of Llama-3-family models on the CPU

usage:
  llama-sft train RECIPE.json [--resume DIR] [--restart]
                                    LoRA fine-tuning; resumes from the run's latest checkpoint
  llama-sft export SOURCE --out DIR [--dtype auto|bf16|f16|f32] [--max-shard-size 5GB]
                 [--adapter-only] [--force] [--base MODEL_DIR] [--no-check]
                                    merged Hugging Face model dir, or a PEFT adapter dir
  llama-sft data RECIPE.json [--show N] [--dump FILE.jsonl]
                                    what the data pipeline makes of the recipe's dataset
  llama-sft tokenize --tokenizer PATH [--input FILE.jsonl]
                                    token ids of {"text": …} lines (or of stdin)
  llama-sft init-model [--out DIR]  make the small random base model the quickstart uses
  llama-sft chat --model DIR [--adapter DIR] [--template T] [--prompt TEXT]
                                    try a model (and adapter) in its chat template
  llama-sft logits --model DIR [--adapter DIR] --input FILE.json --out FILE.safetensors
                                    parity diagnostic: logits (and losses) for given token ids
  llama-sft bench SHAPE [--seq 512] [--batch 1] [--trained-fraction 0.5] [--json]
                                    training-step speed on random weights (tiny, smollm2-135m,
                                    llama3.2-1b, llama3.2-3b, llama3-8b)
  llama-sft bench kernels           GEMM and element-wise kernel throughput
  llama-sft version                 print the version
  llama-sft help                    this text
"""

/// A subcommand: takes the arguments after its name, returns the process exit code.
typealias Command = ([String]) throws -> Int32

let commands: [String: Command] = [
    "bench": BenchCommand.run,
    "logits": LogitsCommand.run,
    "chat": ChatCommand.run,
    "train": TrainCommand.run,
    "export": ExportCommand.run,
    "data": DataCommand.run,
    "tokenize": TokenizeCommand.run,
    "init-model": InitModelCommand.run,
    "version": { _ in print("llama-sft \(version)"); return 0 },
    "help": { _ in print(usage); return 0 },
]

let argv = CommandLine.arguments
guard argv.count >= 2 else {
    print(usage)
    exit(0)
}
let name = argv[1] == "--help" || argv[1] == "-h" ? "help" : (argv[1] == "--version" ? "version" : argv[1])
guard let command = commands[name] else {
    let hint = closestMatch(name, in: Set(commands.keys)).map { " (did you mean '\($0)'?)" } ?? ""
    printError("llama-sft: unknown command '\(name)'\(hint)\n\n\(usage)")
    exit(2)
}
do {
    exit(try command(Array(argv.dropFirst(2))))
} catch let error as UsageError {
    printError("llama-sft \(name): \(error.message)")
    exit(2)
} catch {
    printError("llama-sft \(name): error: \((error as? LocalizedError)?.errorDescription ?? "\(error)")")
    exit(1)
}
