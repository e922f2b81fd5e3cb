/// The Ollama `Modelfile` written beside a merged GGUF, so that `ollama create NAME -f Modelfile` gives a
/// model that is prompted in the format it was trained in and stops at the end of its turn
/// (https://github.com/ollama/ollama/blob/main/docs/modelfile.md).
enum Modelfile {
    /// - Parameters:
    ///   - ggufFileName: the GGUF file in the same folder (`FROM ./name`).
    ///   - stops: `PARAMETER stop` strings, in order.
    static func text(ggufFileName: String, format: ChatFormat, stops: [String]) throws -> String {
        var lines = [
            "# Written by llama-sft export. Create the Ollama model with:",
            "#   ollama create NAME -f Modelfile",
            "# and run it with: ollama run NAME",
            "FROM ./\(ggufFileName)",
            "",
            "# The chat format the model was fine-tuned in (\(format.template.rawValue)).",
            "TEMPLATE \"\"\"\(format.ollamaTemplate)\"\"\"",
        ]
        if let system = format.systemPrompt {
            guard !system.contains("\"\"\"") else {
                throw ExportError.badJSON(path: "recipe.json", reason: "data.system_prompt contains \"\"\", which an Ollama Modelfile cannot quote; remove it from the prompt or edit the Modelfile by hand")
            }
            lines.append("")
            lines.append("# The system prompt every training conversation without one was given.")
            lines.append("SYSTEM \"\"\"\(system)\"\"\"")
        }
        lines.append("")
        lines.append("# Stop at the end of the turn (and at anything that would start another).")
        for stop in stops { lines.append("PARAMETER stop \"\(stop)\"") }
        return lines.joined(separator: "\n") + "\n"
    }
}
