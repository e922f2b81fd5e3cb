/// Builds token ids and the trained mask of a conversation for one ``ChatTemplate``.
///
/// Special tokens are looked up by name once and inserted by id; every text run between two special tokens
/// is encoded on its own with the plain-text tokenizer, so nothing merges across a special token and text that
/// looks like `<|eot_id|>` inside content stays text. The mask is computed from the same id stream, so there
/// is no off-by-one between a separately tokenized prompt and the full conversation (docs/formats.md, Loss masking).
///
/// The renderer accepts any message order; ``DatasetReader`` enforces the dataset rules (system only first,
/// at least one assistant message).
public struct ChatRenderer: Sendable {
    public let template: ChatTemplate
    /// The date in the `llama3.1` system block.
    public let date: String
    /// `<|begin_of_text|>` for the Llama templates, nil for `chatml`.
    public let bosID: Int?
    /// The token that closes a turn and is trained with assistant content: `<|eot_id|>` or `<|im_end|>`.
    public let endOfTurnID: Int

    private let tokenizer: any ChatTokenizer
    private let openID: Int          // <|start_header_id|> or <|im_start|>
    private let headerEndID: Int?    // <|end_header_id|> (Llama only)
    private let roleIDs: [Role: [Int]]
    private let afterTurnIDs: [Int]  // chatml: encode("\n") after <|im_end|>; Llama: none
    private let generationRunIDs: [Int]

    /// Looks up the template's special tokens; throws ``ChatDataError/missingSpecialToken(name:template:)``
    /// when the tokenizer lacks one (e.g. `chatml` with a Llama 3 tokenizer).
    public init(template: ChatTemplate, tokenizer: any ChatTokenizer, date: String = ChatTemplate.defaultDate) throws {
        func special(_ name: String) throws -> Int {
            guard let id = tokenizer.specialTokenID(name) else {
                throw ChatDataError.missingSpecialToken(name: name, template: template.rawValue)
            }
            return id
        }
        self.template = template
        self.date = date
        self.tokenizer = tokenizer
        switch template {
        case .llama3, .llama31:
            bosID = try special("<|begin_of_text|>")
            openID = try special("<|start_header_id|>")
            headerEndID = try special("<|end_header_id|>")
            endOfTurnID = try special("<|eot_id|>")
            var roles: [Role: [Int]] = [:]
            for role in Role.allCases { roles[role] = tokenizer.encode(role.rawValue) }
            roleIDs = roles
            afterTurnIDs = []
            generationRunIDs = tokenizer.encode("\n\n")
        case .chatml:
            bosID = nil
            openID = try special("<|im_start|>")
            headerEndID = nil
            endOfTurnID = try special("<|im_end|>")
            roleIDs = [:]
            afterTurnIDs = tokenizer.encode("\n")
            generationRunIDs = tokenizer.encode("assistant\n")
        }
    }

    /// The `llama3.1` system block text before the system content.
    public var llama31SystemPreamble: String {
        "\n\nCutting Knowledge Date: December 2023\nToday Date: \(date)\n\n"
    }

    /// Ids and trained mask of `messages`.
    ///
    /// - Parameters:
    ///   - trainOn: which tokens are targets (see ``TrainOn``).
    ///   - addGenerationPrompt: append the assistant header (`<|start_header_id|>assistant<|end_header_id|>`
    ///     `"\n\n"`, or `<|im_start|>assistant\n`), never trained except with `.all`.
    public func render(_ messages: [Message], trainOn: TrainOn = .assistant,
                       addGenerationPrompt: Bool = false) -> TemplatedChat {
        var out = TemplatedChat(ids: [], trained: [])
        let all: UInt8 = trainOn == .all ? 1 : 0
        var rest = messages[...]
        if let bos = bosID {
            out.ids.append(bos)
            out.trained.append(0)
        }
        if template == .llama31 {
            var system = ""
            if let first = rest.first, first.role == .system {
                system = pythonStrip(first.content)
                rest = rest.dropFirst()
            }
            appendLlamaTurn(role: .system, runPrefix: llama31SystemPreamble, content: system, trainContent: all,
                            into: &out, headerMask: all)
        }
        let lastAssistant = rest.lastIndex { $0.role == .assistant }
        for index in rest.indices {
            let message = rest[index]
            let contentMask: UInt8
            switch trainOn {
            case .all: contentMask = 1
            case .assistant: contentMask = message.role == .assistant ? 1 : 0
            case .lastAssistant: contentMask = index == lastAssistant ? 1 : 0
            }
            switch template {
            case .llama3, .llama31:
                appendLlamaTurn(role: message.role, runPrefix: "\n\n", content: pythonStrip(message.content),
                                trainContent: contentMask, into: &out, headerMask: all)
            case .chatml:
                appendChatMLTurn(role: message.role, content: message.content, trainContent: contentMask,
                                 into: &out, headerMask: all)
            }
        }
        if addGenerationPrompt {
            out.ids.append(openID)
            if template == .chatml {
                out.ids += generationRunIDs
            } else {
                out.ids += roleIDs[.assistant] ?? []
                out.ids.append(headerEndID ?? openID)
                out.ids += generationRunIDs
            }
            out.trained += repeatElement(all, count: out.ids.count - out.trained.count)
        }
        return out
    }

    /// `<|start_header_id|>` role `<|end_header_id|>` encode(runPrefix + content) `<|eot_id|>`.
    private func appendLlamaTurn(role: Role, runPrefix: String, content: String, trainContent: UInt8,
                                 into out: inout TemplatedChat, headerMask: UInt8) {
        out.ids.append(openID)
        out.ids += roleIDs[role] ?? tokenizer.encode(role.rawValue)
        out.ids.append(headerEndID ?? openID)
        out.trained += repeatElement(headerMask, count: out.ids.count - out.trained.count)
        appendRun(prefix: runPrefix, content: content, prefixMask: headerMask, contentMask: trainContent, into: &out)
        out.ids.append(endOfTurnID)
        out.trained.append(trainContent)
    }

    /// `<|im_start|>` encode(role + "\n" + content) `<|im_end|>` encode("\n").
    private func appendChatMLTurn(role: Role, content: String, trainContent: UInt8,
                                  into out: inout TemplatedChat, headerMask: UInt8) {
        out.ids.append(openID)
        out.trained.append(headerMask)
        appendRun(prefix: role.rawValue + "\n", content: content, prefixMask: headerMask, contentMask: trainContent,
                  into: &out)
        out.ids.append(endOfTurnID)
        out.trained.append(trainContent)
        out.ids += afterTurnIDs
        out.trained += repeatElement(headerMask, count: afterTurnIDs.count)
    }

    /// Encodes `prefix + content` as one run (as the reference tokenizes the text between two special tokens)
    /// and masks it by bytes: tokens lying entirely inside the prefix get `prefixMask`, every token holding at
    /// least one content byte gets `contentMask`. With the Llama templates the prefix is always exactly token
    /// 271 (`"\n\n"`) because content is trimmed; a token straddling the boundary (possible only with `chatml`
    /// content that starts with whitespace) counts as content.
    private func appendRun(prefix: String, content: String, prefixMask: UInt8, contentMask: UInt8,
                           into out: inout TemplatedChat) {
        let ids = tokenizer.encode(prefix + content)
        let prefixBytes = prefix.utf8.count
        var consumed = 0
        var prefixTokens = 0
        while prefixTokens < ids.count && consumed < prefixBytes {
            let length = tokenizer.decodeBytes([ids[prefixTokens]]).count
            if consumed + length > prefixBytes { break }
            consumed += length
            prefixTokens += 1
        }
        out.ids += ids
        out.trained += repeatElement(prefixMask, count: prefixTokens)
        out.trained += repeatElement(contentMask, count: ids.count - prefixTokens)
    }
}
