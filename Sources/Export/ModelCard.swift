import Foundation
import Llama

/// The short `README.md` written beside an export: what it was made from and how.
enum ModelCard {
    struct Facts {
        var title: String
        var kind: ExportReport.Kind
        var merged: Bool { kind == .merged || kind == .ggufModel }
        var baseModel: String
        var adapterSource: String
        var sourceKind: ExportSource.Kind
        var lora: LoRAConfig
        var weightsDescription: String?
        var training: TrainingSummary
        var checkDescription: String?
    }

    static func text(_ f: Facts) -> String {
        var lines: [String] = []
        lines.append("---")
        switch f.kind {
        case .merged: lines.append("library_name: transformers")
        case .adapter: lines.append("library_name: peft")
        case .ggufModel, .ggufAdapter: lines.append("library_name: gguf")
        }
        lines.append("tags:")
        lines.append("- llama-sft")
        lines.append("- lora")
        if f.merged { lines.append("- merged") }
        lines.append("---")
        lines.append("")
        lines.append("# \(f.title)")
        lines.append("")
        switch f.kind {
        case .ggufModel:
            lines.append("A Llama model with a LoRA adapter merged into its weights by `llama-sft export --format gguf`, as one "
                + "GGUF file (`\(GGUFExport.modelFileName)`) for llama.cpp and Ollama. Every adapted projection is `W + s·(B·A)`, "
                + "computed in fp32 and rounded once to the output type. The GGUF carries the chat template the model was "
                + "trained with and its end-of-turn token as EOS.")
            lines.append("")
            lines.append("- Ollama: `ollama create NAME -f Modelfile`, then `ollama run NAME`")
            lines.append("- llama.cpp: `llama-cli -m \(GGUFExport.modelFileName) -cnv` (the chat template is in the file)")
        case .ggufAdapter:
            lines.append("A LoRA adapter for llama.cpp exported by `llama-sft export --adapter-only --format gguf` "
                + "(`\(GGUFExport.adapterFileName)`, F32). Apply it to a GGUF of the same base model: "
                + "`llama-cli -m BASE.gguf --lora \(GGUFExport.adapterFileName)`.")
        case .merged:
            lines.append("A Llama model with a LoRA adapter merged into its weights by `llama-sft export`: every adapted "
                + "projection is `W + s·(B·A)`, computed in fp32 and rounded once to the output dtype; all other "
                + "tensors are the base's.")
        case .adapter:
            lines.append("A PEFT LoRA adapter exported by `llama-sft export --adapter-only` (fp32 tensors, PEFT names). "
                + "Load it with `PeftModel.from_pretrained(base, this_directory)`.")
        }
        lines.append("")
        lines.append("- Base model: `\(f.baseModel)`")
        lines.append("- Adapter: `\(f.adapterSource)` (\(f.sourceKind.rawValue))")
        let alpha = f.lora.alpha == f.lora.alpha.rounded() ? String(Int(f.lora.alpha)) : String(f.lora.alpha)
        lines.append("- LoRA: r \(f.lora.rank), alpha \(alpha), scale \(f.lora.scale)\(f.lora.rslora ? " (rsLoRA: alpha/√r)" : ""), "
            + "targets \(f.lora.targets.map(\.rawValue).joined(separator: ", "))")
        if let w = f.weightsDescription { lines.append("- Weights: \(w)") }
        if let step = f.training.step { lines.append("- Training steps: \(step)") }
        if let p = f.training.trainLoss { lines.append("- Final training loss: \(format(p.value)) (step \(p.step))") }
        if let p = f.training.evalLoss { lines.append("- Final evaluation loss: \(format(p.value)) (step \(p.step))") }
        if let c = f.checkDescription { lines.append("- Export check: \(c)") }
        lines.append("")
        return lines.joined(separator: "\n")
    }

    static func format(_ x: Double) -> String { String(format: "%.4f", x) }
}
