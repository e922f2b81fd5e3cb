/// The chat formats ChatData can build. Each is reproduced from the model's Hugging Face template, but
/// built from pieces (special tokens by id, every text run encoded on its own), never rendered to text
/// and re-tokenized (docs/formats.md, Tokenizer and Chat templates).
public enum ChatTemplate: String, Sendable, CaseIterable {
    /// Meta-Llama-3-8B-Instruct: BOS, then per message
    /// `<|start_header_id|>` role `<|end_header_id|>` `"\n\n" + trim(content)` `<|eot_id|>`. No default system.
    case llama3 = "llama3"
    /// Llama 3.1 / 3.2 Instruct (no tools): BOS, then always a system block
    /// `"\n\nCutting Knowledge Date: December 2023\nToday Date: <date>\n\n" + trim(system content or "")`,
    /// then the remaining messages as in `llama3`.
    case llama31 = "llama3.1"
    /// ChatML as in SmolLM2-Instruct: per message `<|im_start|>` `role + "\n" + content` `<|im_end|>` `"\n"`.
    /// No BOS and no trimming. SmolLM2's shipped template adds a default system message
    /// ("You are a helpful AI assistant named SmolLM, trained by Hugging Face") when the first message is not
    /// a system message; this template adds none. Set `DataOptions.systemPrompt` to
    /// ``ChatTemplate/smolLM2DefaultSystemPrompt`` to reproduce SmolLM2's rendering byte for byte.
    case chatml = "chatml"

    /// The date pinned into the `llama3.1` system block unless the recipe sets another
    /// (the 3.1 template's `date_string` default; docs/formats.md, Chat templates).
    public static let defaultDate = "26 Jul 2024"

    /// The system message SmolLM2-Instruct's template inserts when a conversation has none.
    public static let smolLM2DefaultSystemPrompt = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"

    /// Whether the template starts every sequence with `<|begin_of_text|>`.
    public var usesBOS: Bool { self != .chatml }
}

/// Which tokens of a templated conversation are training targets.
public enum TrainOn: String, Sendable, CaseIterable {
    /// Every assistant message's content plus the end-of-turn token that closes it (`<|eot_id|>` or
    /// `<|im_end|>`). Headers, system and user turns are not trained. The project default (docs/formats.md, Loss masking).
    case assistant
    /// Only the last assistant message's content and its end-of-turn token.
    case lastAssistant = "last_assistant"
    /// Every token except the BOS at index 0 (with `chatml`, which has no BOS: every token).
    case all
}

/// Token ids of a templated conversation and its trained mask (1 = the token is a training target).
public struct TemplatedChat: Sendable, Equatable {
    public var ids: [Int]
    public var trained: [UInt8]

    public init(ids: [Int], trained: [UInt8]) {
        self.ids = ids
        self.trained = trained
    }
}
