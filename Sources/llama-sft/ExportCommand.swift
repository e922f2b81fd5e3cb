import ChatData
import Export
import Foundation
import SafeTensors

/// `llama-sft export SOURCE --out DIR [...]`: a merged Hugging Face model directory, or a PEFT adapter
/// directory with `--adapter-only`; with `--format gguf`, a merged GGUF + Ollama Modelfile, or a llama.cpp
/// LoRA adapter GGUF. The work is done by `Exporter` (library `Export`).
enum ExportCommand {
    static let usage = """
    usage: llama-sft export SOURCE --out DIR [--dtype auto|bf16|f16|f32] [--max-shard-size 5GB]
                            [--adapter-only] [--force] [--base MODEL_DIR] [--no-check]
           llama-sft export SOURCE --out DIR --format gguf [--dtype f16|bf16|f32|q8_0]
                            [--template llama3|llama3.1|chatml] [--adapter-only] [--force] [--base MODEL_DIR]

    SOURCE is a run directory (its final adapter/, else its latest checkpoint), a checkpoint directory
    (checkpoints/step-000100) or a PEFT adapter directory.

      --out DIR             the directory to create; refused if it exists and is not empty (see --force)
      --dtype D             merged weights' dtype; auto (default) keeps each base tensor's dtype
      --max-shard-size S    shard size limit (default 5GB = 5,000,000,000 bytes; KB/MB/GB decimal,
                            KiB/MiB/GiB binary); one shard is written as model.safetensors
      --adapter-only        write a PEFT adapter directory (fp32) instead of a merged model
      --force               replace a non-empty --out (only after the new export is complete)
      --base MODEL_DIR      the base model; by default the "model" of the run's recipe.json, else the
                            adapter's base_model_name_or_path
      --no-check            skip the post-export check (reload, compare logits with base + adapter)
      --format F            safetensors (default) or gguf: one model.gguf for llama.cpp and Ollama, with
                            a Modelfile beside it; with --adapter-only, adapter.gguf for llama.cpp --lora
      --dtype D (gguf)      the merged GGUF's weight type: f16 (default), bf16, f32 or q8_0; norms stay f32
      --template T          the chat template the model was trained with, when SOURCE has no recipe.json
                            (gguf: written as tokenizer.chat_template and as the Modelfile TEMPLATE)

    A merged export computes W + s·(B·A) in fp32 and rounds once to the output dtype, copies every other
    tensor unchanged, keeps tied embeddings tied, and copies config.json (dtype key updated),
    generation_config.json and the tokenizer files. From a GGUF base (MODEL_DIR may be a .gguf file) the
    base is dequantized (auto: quantized tensors as bf16; f32 keeps them exactly) and config.json,
    generation_config.json, tokenizer.json and tokenizer_config.json (chat template: the recipe's or
    --template, else the GGUF's own) are made from the GGUF's metadata (docs/gguf.md).
    """

    static func run(_ args: [String]) throws -> Int32 {
        if args.contains("--help") || args.contains("-h") {
            print(usage)
            return 0
        }
        let parsed = try Arguments(args, valued: ["out", "dtype", "max-shard-size", "base", "format", "template"],
                                   switches: ["adapter-only", "force", "no-check"])
        guard let source = parsed.positionals.first else { throw UsageError("missing SOURCE\n\n\(usage)") }
        if parsed.positionals.count > 1 { throw UsageError("unexpected argument '\(parsed.positionals[1])'\n\n\(usage)") }
        guard let out = parsed.value("out") else { throw UsageError("missing --out DIR\n\n\(usage)") }
        var options = ExportOptions(source: source, output: out, adapterOnly: parsed.flag("adapter-only"),
                                    force: parsed.flag("force"), baseModel: parsed.value("base"), check: !parsed.flag("no-check"))
        if let text = parsed.value("format") {
            guard let format = ExportFormat(rawValue: text.lowercased()) else {
                throw UsageError("--format expects safetensors or gguf, got '\(text)'")
            }
            options.format = format
        }
        if let text = parsed.value("template") {
            guard let template = ChatTemplate(rawValue: text) else {
                throw UsageError("--template expects \(ChatTemplate.allCases.map(\.rawValue).joined(separator: ", ")), got '\(text)'")
            }
            options.chatTemplate = template
        }
        if options.format == .gguf, let text = parsed.value("dtype") {
            guard let type = GGUFOutputType(argument: text) else {
                throw UsageError("--dtype with --format gguf expects f16, bf16, f32 or q8_0, got '\(text)'")
            }
            if options.adapterOnly { throw UsageError("--dtype applies to merged exports; an --adapter-only GGUF is always F32") }
            options.ggufType = type
        } else if let text = parsed.value("dtype") {
            guard let dtype = ExportDType(argument: text) else {
                throw UsageError("--dtype expects auto, bf16, f16 or f32, got '\(text)'")
            }
            options.dtype = dtype
        }
        if let text = parsed.value("max-shard-size") {
            do {
                options.maxShardBytes = try parseByteSize(text)
            } catch {
                throw UsageError("--max-shard-size: \(error.localizedDescription)")
            }
        }
        if options.format == .gguf, parsed.value("max-shard-size") != nil {
            throw UsageError("--max-shard-size applies to safetensors exports; a GGUF export is one file")
        }
        if options.adapterOnly {
            if options.dtype != .auto { throw UsageError("--dtype applies to merged exports; an --adapter-only export is always fp32") }
            if parsed.value("max-shard-size") != nil { throw UsageError("--max-shard-size applies to merged exports, not --adapter-only") }
        }

        let started = Date()
        let report = try Exporter.export(options) { print($0) }
        print(summary(report, seconds: Date().timeIntervalSince(started)))
        return 0
    }

    private static func summary(_ r: ExportReport, seconds: Double) -> String {
        var lines = ["\(r.kind.rawValue) written to \(r.output) in \(String(format: "%.1f", seconds)) s"]
        lines.append("  files: \(r.files.joined(separator: ", "))")
        if r.kind == .ggufModel {
            lines.append(String(format: "  %d tensors, %.3f GB, %@, %d merged projections, %d non-zero weight updates", r.tensorCount,
                                Double(r.weightBytes) / 1e9, r.dtypes.joined(separator: "/"), r.mergedTensorCount, r.changedEntries))
        } else if r.kind == .ggufAdapter {
            lines.append(String(format: "  %d tensors (F32), %.3f MB", r.tensorCount, Double(r.weightBytes) / 1e6))
        }
        if r.kind == .merged {
            lines.append(String(format: "  %d tensors, %.3f GB, %@, %d merged projections", r.tensorCount,
                                Double(r.weightBytes) / 1e9, r.dtypes.joined(separator: "/"), r.mergedTensorCount))
            lines.append(String(format: "  weight updates lost to rounding: %d of %d (%.4f%%)", r.lostEntries, r.changedEntries, r.lostFraction * 100))
            if let before = r.residentBytesBeforeWrite, let peak = r.peakResidentBytesAfterWrite {
                lines.append(String(format: "  memory: resident %.0f MB before writing, peak %.0f MB", Double(before) / 1e6, Double(peak) / 1e6))
            }
            if let c = r.check { lines.append("  check passed: " + c.summary) }
        } else if let rt = r.adapterRoundTrip ?? r.readBackCheck {
            lines.append("  check passed: " + rt)
        }
        return lines.joined(separator: "\n")
    }
}
