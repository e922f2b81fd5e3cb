import ChatData
import Foundation
import Llama
import Tensors
import Tokenizer
import Training

/// `llama-sft chat`: try a model (and adapter) in its chat template, one prompt or interactively.
enum ChatCommand {
    static let usage = """
    usage: llama-sft chat --model DIR|FILE.gguf [--adapter DIR] [--template llama3|llama3.1|chatml] [--system TEXT]
                          [--prompt TEXT] [--max-new-tokens 256] [--temperature 0.6] [--top-p 0.9] [--seed 0]
                          [--threads N]

    Without --prompt, reads one user message per line from standard input (an empty line or EOF ends);
    the conversation so far is kept. --adapter takes a PEFT adapter directory (a run's adapter/, or a
    checkpoint). Generation stops at the template's end-of-turn token or the model's EOS ids.
    --temperature 0 is greedy.
    """

    static func run(_ args: [String]) throws -> Int32 {
        let a = try Arguments(args, valued: ["model", "adapter", "template", "system", "prompt", "max-new-tokens", "temperature",
                                             "top-p", "seed", "threads", "template-date"], switches: [])
        guard a.positionals.isEmpty else { throw UsageError("unexpected argument '\(a.positionals[0])'\n\(usage)") }
        let modelDir = try a.required("model")
        // Without --template: a GGUF model's own chat format, else llama3.
        var chosen = a.value("template")
        if chosen == nil, case .gguf(let path) = ModelSource(path: modelDir) { chosen = try ModelTokenizer.chatTemplate(gguf: path)?.rawValue }
        guard let template = ChatTemplate(rawValue: chosen ?? "llama3") else {
            throw UsageError("--template must be one of \(ChatTemplate.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        Threads.configure(a.value("threads").flatMap(Int.init))
        let maxNew = try a.int("max-new-tokens", default: 256)
        var sampler = Sampler(temperature: try a.double("temperature", default: 0.6), topP: try a.double("top-p", default: 0.9),
                              seed: UInt64(try a.int("seed", default: 0, in: 0...Int.max)))
        guard maxNew > 0, sampler.temperature >= 0, sampler.topP > 0, sampler.topP <= 1 else {
            throw UsageError("need --max-new-tokens > 0, --temperature ≥ 0 and 0 < --top-p ≤ 1")
        }

        let model = try LlamaModel.load(directory: modelDir)
        if let adapter = a.value("adapter") { model.adapters = try PEFTAdapter.load(directory: adapter, model: model.config).0 }
        let tokenizer = try ModelTokenizer.load(path: modelDir)
        let renderer = try ChatRenderer(template: template, tokenizer: tokenizer, date: a.value("template-date") ?? ChatTemplate.defaultDate)
        var stop = Set(model.config.eosTokenIDs)
        for name in ["<|eot_id|>", "<|eom_id|>", "<|end_of_text|>", "<|im_end|>"] {
            if let id = tokenizer.specialTokenID(name) { stop.insert(id) }
        }

        var messages: [Message] = []
        if let system = a.value("system") { messages.append(Message(role: .system, content: system)) }
        @discardableResult func reply(to text: String) -> Bool {
            messages.append(Message(role: .user, content: text))
            let ids = renderer.render(messages, addGenerationPrompt: true).ids
            // Attention cost grows with the square of the length: past the model's context the reply
            // would be slow and meaningless. Refuse the turn and say why.
            var budget = maxNew
            if let context = model.config.maxPositionEmbeddings {
                guard ids.count < context else {
                    printError("llama-sft chat: the conversation is \(ids.count) tokens, the model's context (max_position_embeddings) is \(context): shorten the prompt or start a new chat; this turn is dropped.")
                    messages.removeLast()
                    return false
                }
                budget = min(maxNew, context - ids.count)
            }
            var decoder = StreamingDecoder(tokenizer: tokenizer)
            var generated: [Int] = []
            do {
                _ = try model.generate(prompt: ids, maxNewTokens: budget, stop: stop, sampler: &sampler) { id in
                    generated.append(id)
                    if !stop.contains(id) {
                        FileHandle.standardOutput.write(Data(decoder.append(id).utf8))
                    }
                    return true
                }
            } catch {
                // A tokenizer that is not the model's can make ids past its embedding table.
                printError("llama-sft chat: error: \(error.localizedDescription) (tokenizer: \(modelDir)); this turn is dropped.")
                messages.removeLast()
                return false
            }
            FileHandle.standardOutput.write(Data((decoder.finish() + "\n").utf8))
            let answer = generated.filter { !stop.contains($0) }
            messages.append(Message(role: .assistant, content: tokenizer.decode(answer)))
            return true
        }

        if let prompt = a.value("prompt") { return reply(to: prompt) ? 0 : 1 }
        let interactive = isatty(STDIN_FILENO) == 1
        while true {
            if interactive { FileHandle.standardOutput.write(Data("> ".utf8)) }
            guard let line = readLine(), !line.isEmpty else { break }
            reply(to: line)
        }
        return 0
    }
}
