/// Turns validated records into ``Example``s: template, system prompt, truncation, BOS check.
public struct ExampleBuilder: Sendable {
    /// The result of building one record.
    public struct Outcome: Sendable {
        /// The example, or nil when it was dropped.
        public var example: Example?
        /// Length before truncation.
        public var fullLength: Int
        /// The example was kept but cut to `max_seq_len` (a cut example that is then dropped counts as dropped only).
        public var truncated: Bool
        /// Dropped because truncation left no trained target (or none existed).
        public var droppedUntrained: Bool
        /// Dropped because it was longer than `max_seq_len` with `truncation: drop`.
        public var droppedTooLong: Bool
        /// Some content contains special-token text (encoded as plain text).
        public var containsSpecialText: Bool
        /// The conversation's last message is not an assistant message.
        public var endsWithoutAssistant: Bool
        /// `systemPrompt` was inserted because the conversation had no system message.
        public var systemPromptAdded: Bool
    }

    /// The template renderer; nil when the tokenizer lacks the template's special tokens, which only
    /// matters for conversations (pre-tokenized records never render).
    public let renderer: ChatRenderer?
    private let rendererError: ChatDataError?
    public let trainOn: TrainOn
    public let systemPrompt: String?
    public let maxSeqLen: Int
    public let truncation: Truncation
    private let detector: SpecialTextDetector

    public init(template: ChatTemplate, tokenizer: any ChatTokenizer, date: String = ChatTemplate.defaultDate,
                trainOn: TrainOn = .assistant, systemPrompt: String? = nil, maxSeqLen: Int,
                truncation: Truncation = .keepStart) throws {
        do {
            renderer = try ChatRenderer(template: template, tokenizer: tokenizer, date: date)
            rendererError = nil
        } catch let error as ChatDataError {
            renderer = nil
            rendererError = error
        }
        self.trainOn = trainOn
        self.systemPrompt = systemPrompt
        self.maxSeqLen = maxSeqLen
        self.truncation = truncation
        detector = SpecialTextDetector(names: tokenizer.specialTokenNames())
    }

    /// Builds the example of a conversation.
    ///
    /// Throws ``ChatDataError/bosInvariant(source:count:)`` if the built ids do not hold exactly one BOS at
    /// index 0 (a Llama template), which would mean a tokenizer emitted a control id for plain text.
    public func build(_ conversation: Conversation) throws -> Outcome {
        guard let renderer else { throw rendererError! }
        var messages = conversation.messages
        var added = false
        if let systemPrompt, messages.first?.role != .system {
            messages.insert(Message(role: .system, content: systemPrompt), at: 0)
            added = true
        }
        let chat = renderer.render(messages, trainOn: trainOn)
        if let bos = renderer.bosID {
            let count = chat.ids.reduce(0) { $0 + ($1 == bos ? 1 : 0) }
            if count != 1 || chat.ids.first != bos {
                throw ChatDataError.bosInvariant(source: conversation.source, count: count)
            }
        }
        var outcome = finish(record: conversation.source.record, ids: chat.ids, trained: chat.trained,
                             category: conversation.category)
        outcome.containsSpecialText = messages.contains { detector.contains($0.content) }
        outcome.endsWithoutAssistant = messages.last?.role != .assistant
        outcome.systemPromptAdded = added
        return outcome
    }

    /// Checks a pre-tokenized record's BOS (Llama templates: exactly one, at index 0); nil when it is fine,
    /// else why not (the caller treats it as an invalid record).
    public func bosProblem(_ record: TokenizedRecord) -> String? {
        guard let renderer, let bos = renderer.bosID else { return nil }
        let count = record.ids.reduce(0) { $0 + ($1 == bos ? 1 : 0) }
        if count == 1 && record.ids.first == bos { return nil }
        return "input_ids must start with exactly one BOS (\(bos)) for template \(renderer.template.rawValue); found \(count)" +
            (count >= 1 && record.ids.first != bos ? " not at index 0" : "")
    }

    /// Builds the example of a pre-tokenized record (ids and mask used as given).
    public func build(_ record: TokenizedRecord) -> Outcome {
        finish(record: record.source.record, ids: record.ids, trained: record.trained, category: record.category)
    }

    /// Truncation and the no-target drop rule.
    private func finish(record: Int, ids: [Int], trained: [UInt8], category: String?) -> Outcome {
        var outcome = Outcome(example: nil, fullLength: ids.count, truncated: false, droppedUntrained: false,
                              droppedTooLong: false, containsSpecialText: false, endsWithoutAssistant: false,
                              systemPromptAdded: false)
        var ids = ids[...]
        var trained = trained[...]
        let cut = ids.count > maxSeqLen
        if cut {
            if truncation == .drop {
                outcome.droppedTooLong = true
                return outcome
            }
            ids = ids.prefix(maxSeqLen)
            trained = trained.prefix(maxSeqLen)
        }
        if Example.targets(trained) == 0 {
            outcome.droppedUntrained = true
            return outcome
        }
        outcome.truncated = cut
        outcome.example = Example(record: record, ids: Array(ids), trained: Array(trained), category: category)
        return outcome
    }
}
