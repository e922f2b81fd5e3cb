import Foundation
import StrictJSON

/// Reads dataset files (JSONL, JSON array or Parquet) into validated records.
///
/// Rules checked for chat formats: every role is known, a system message appears only first, at least one
/// assistant message exists, every content is a string. A conversation ending with a user message is
/// accepted: its trailing turn is rendered but never trained (attention is causal, so it cannot change the
/// loss of earlier tokens); ``DataStats/endingWithoutAssistant`` counts such records. (REFERENCE §4 suggests
/// rejecting them; the golden conversations include one and still render it, so ChatData accepts it.)
public enum DatasetReader {
    /// How many skip messages ``DatasetFile/skipExamples`` keeps.
    public static let skipExampleLimit = 5

    /// Reads and validates the file at `path`.
    ///
    /// - Parameters:
    ///   - format: the record layout, or `.auto` to detect it from the first record with a known key.
    ///   - onInvalid: `.error` throws ``ChatDataError/invalidRecord(source:reason:detail:)`` at the first bad
    ///     record; `.skip` counts it and goes on.
    ///   - vocabularySize: when set, pre-tokenized ids must be below it.
    public static func read(path: String, format: DatasetFormat = .auto, onInvalid: OnInvalid = .error,
                            vocabularySize: Int? = nil) throws -> DatasetFile {
        if path.lowercased().hasSuffix(".parquet") || ParquetFile.hasMagic(path: path) {
            return try ParquetDatasetReader.read(path: path, format: format, onInvalid: onInvalid,
                                                 vocabularySize: vocabularySize)
        }
        let bytes: [UInt8]
        do {
            bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw ChatDataError.unreadableFile(path: path, reason: (error as NSError).localizedDescription)
        }
        return try read(bytes: bytes, path: path, format: format, onInvalid: onInvalid, vocabularySize: vocabularySize)
    }

    /// Reads and validates dataset bytes; `path` is only used in messages and sources.
    public static func read(bytes: [UInt8], path: String, format: DatasetFormat = .auto,
                            onInvalid: OnInvalid = .error, vocabularySize: Int? = nil) throws -> DatasetFile {
        let (_, raw) = try RecordSplitter.split(bytes, path: path)
        var file = DatasetFile(path: path, format: format, records: [], recordCount: raw.count, skipped: [:],
                               skipExamples: [])
        // Parse everything first: detection looks at the first record with a known key.
        var parsed: [Result<[String: Any], RecordError>] = []
        parsed.reserveCapacity(raw.count)
        for record in raw {
            parsed.append(parseJSONObject(bytes[record.range]))
        }
        if format == .auto {
            var firstKeys: [String]? = nil
            var detected: DatasetFormat? = nil
            for case .success(let object) in parsed {
                if firstKeys == nil { firstKeys = object.keys.sorted() }
                if let format = detect(object) {
                    detected = format
                    break
                }
            }
            if let detected {
                file.format = detected
            } else if let firstKeys {
                throw ChatDataError.undetectableFormat(path: path, keys: firstKeys)
            } else {
                // Empty file, or only malformed records (reported below): nothing to detect from.
                file.format = .messages
            }
        }
        for (index, record) in raw.enumerated() {
            try add(parsed[index], source: RecordSource(file: path, line: record.line, record: index), to: &file,
                    onInvalid: onInvalid, vocabularySize: vocabularySize)
        }
        return file
    }

    /// Converts one parsed record in `file.format` and appends it to `file`, or throws / counts it as skipped.
    static func add(_ parsed: Result<[String: Any], RecordError>, source: RecordSource, to file: inout DatasetFile,
                    onInvalid: OnInvalid, vocabularySize: Int?) throws {
        do {
            let object = try parsed.get()
            file.records.append(try convert(object, format: file.format, source: source, vocabularySize: vocabularySize))
        } catch let error as RecordError {
            switch onInvalid {
            case .error:
                throw ChatDataError.invalidRecord(source: source, reason: error.reason, detail: error.detail)
            case .skip:
                file.skipped[error.reason, default: 0] += 1
                if file.skipExamples.count < skipExampleLimit {
                    file.skipExamples.append("\(source): \(error.detail) [\(error.reason.rawValue)]")
                }
            }
        }
    }

    /// The format a record's keys indicate, nil when none matches.
    static func detect(_ object: [String: Any]) -> DatasetFormat? {
        if object["messages"] != nil { return .messages }
        if object["conversations"] != nil { return .sharegpt }
        if object["input_ids"] != nil { return .tokenized }
        if object["prompt"] != nil && object["completion"] != nil { return .promptCompletion }
        return nil
    }

    // MARK: - Records

    struct RecordError: Error {
        var reason: InvalidReason
        var detail: String
    }

    static func parseJSONObject(_ bytes: ArraySlice<UInt8>) -> Result<[String: Any], RecordError> {
        let value: Any
        do {
            value = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
        } catch {
            let reason = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String
            return .failure(RecordError(reason: .malformedJSON,
                                        detail: "malformed JSON" + (reason.map { " (\($0))" } ?? "")))
        }
        guard let object = value as? [String: Any] else {
            return .failure(RecordError(reason: .notAnObject, detail: "the record is \(describe(value)), not a JSON object"))
        }
        return .success(object)
    }

    static func convert(_ object: [String: Any], format: DatasetFormat, source: RecordSource,
                        vocabularySize: Int?) throws -> DatasetRecord {
        switch format {
        case .auto, .messages:
            let messages = try parseMessages(object["messages"], field: "messages", roleKey: "role",
                                             contentKey: "content", roles: messageRoles, keys: object.keys)
            try validate(messages, field: "messages")
            return .conversation(Conversation(messages: messages, metadata: metadata(object, excluding: ["messages"]),
                                              source: source))
        case .sharegpt:
            var messages = try parseMessages(object["conversations"], field: "conversations", roleKey: "from",
                                             contentKey: "value", roles: shareGPTRoles, keys: object.keys)
            var used: Set<String> = ["conversations"]
            if let system = object["system"] as? String, messages.first?.role != .system {
                messages.insert(Message(role: .system, content: system), at: 0)
                used.insert("system")
            }
            try validate(messages, field: "conversations")
            return .conversation(Conversation(messages: messages, metadata: metadata(object, excluding: used),
                                              source: source))
        case .promptCompletion:
            let prompt = try promptCompletionPart(object, key: "prompt", role: .user)
            let completion = try promptCompletionPart(object, key: "completion", role: .assistant)
            let messages = prompt + completion
            try validate(messages, field: "prompt/completion")
            return .conversation(Conversation(messages: messages,
                                              metadata: metadata(object, excluding: ["prompt", "completion"]),
                                              source: source))
        case .tokenized:
            return .tokenized(try parseTokenized(object, source: source, vocabularySize: vocabularySize))
        }
    }

    static let messageRoles: [String: Role] = ["system": .system, "user": .user, "assistant": .assistant]
    static let shareGPTRoles: [String: Role] = ["system": .system, "human": .user, "gpt": .assistant,
                                                "user": .user, "assistant": .assistant]

    static func parseMessages(_ value: Any?, field: String, roleKey: String, contentKey: String,
                              roles: [String: Role], keys: Dictionary<String, Any>.Keys) throws -> [Message] {
        guard let value else {
            throw RecordError(reason: .missingField,
                              detail: "no \"\(field)\" field (keys: \(keys.sorted().joined(separator: ", ")))")
        }
        guard let list = value as? [Any] else {
            throw RecordError(reason: .missingField, detail: "\"\(field)\" is \(describe(value)), not a list of messages")
        }
        var messages: [Message] = []
        messages.reserveCapacity(list.count)
        for (i, item) in list.enumerated() {
            let path = "\(field)[\(i)]"
            guard let message = item as? [String: Any] else {
                throw RecordError(reason: .notAnObject, detail: "\(path) is \(describe(item)), not an object")
            }
            guard let roleValue = message[roleKey] else {
                throw RecordError(reason: .missingField, detail: "\(path) has no \"\(roleKey)\"")
            }
            guard let roleName = roleValue as? String, let role = roles[roleName] else {
                let known = roles.keys.sorted().joined(separator: ", ")
                throw RecordError(reason: .unknownRole,
                                  detail: "\(path).\(roleKey) is \(describe(roleValue)); known roles: \(known)")
            }
            guard let contentValue = message[contentKey] else {
                throw RecordError(reason: .missingField, detail: "\(path) has no \"\(contentKey)\"")
            }
            guard let content = contentValue as? String else {
                throw RecordError(reason: .nonStringContent,
                                  detail: "\(path).\(contentKey) is \(describe(contentValue)), not a string")
            }
            messages.append(Message(role: role, content: content))
        }
        return messages
    }

    static func promptCompletionPart(_ object: [String: Any], key: String, role: Role) throws -> [Message] {
        guard let value = object[key] else {
            throw RecordError(reason: .missingField,
                              detail: "no \"\(key)\" field (keys: \(object.keys.sorted().joined(separator: ", ")))")
        }
        if let text = value as? String { return [Message(role: role, content: text)] }
        if value is [Any] {
            return try parseMessages(value, field: key, roleKey: "role", contentKey: "content", roles: messageRoles,
                                     keys: object.keys)
        }
        throw RecordError(reason: .nonStringContent, detail: "\"\(key)\" is \(describe(value)), not a string or a message list")
    }

    /// System only first; at least one assistant message.
    static func validate(_ messages: [Message], field: String) throws {
        for (i, message) in messages.enumerated() where message.role == .system && i > 0 {
            throw RecordError(reason: .systemNotFirst,
                              detail: "\(field)[\(i)] is a system message; a system message may only come first")
        }
        if !messages.contains(where: { $0.role == .assistant }) {
            throw RecordError(reason: .noAssistant,
                              detail: messages.isEmpty ? "\"\(field)\" is empty" : "no assistant message in \"\(field)\"")
        }
    }

    static func parseTokenized(_ object: [String: Any], source: RecordSource, vocabularySize: Int?) throws -> TokenizedRecord {
        guard let idsValue = object["input_ids"] else {
            throw RecordError(reason: .missingField,
                              detail: "no \"input_ids\" field (keys: \(object.keys.sorted().joined(separator: ", ")))")
        }
        let ids = try integers(idsValue, field: "input_ids")
        if ids.isEmpty { throw RecordError(reason: .badTokenized, detail: "\"input_ids\" is empty") }
        for (t, id) in ids.enumerated() where id < 0 || (vocabularySize.map { id >= $0 } ?? false) {
            throw RecordError(reason: .badTokenized,
                              detail: "input_ids[\(t)] = \(id) is outside the vocabulary (0..<\(vocabularySize ?? Int.max))")
        }
        var trained = [UInt8](repeating: 0, count: ids.count)
        var used: Set<String> = ["input_ids", "attention_mask"]
        if let labelsValue = object["labels"] {
            used.insert("labels")
            let labels = try integers(labelsValue, field: "labels")
            guard labels.count == ids.count else {
                throw RecordError(reason: .badTokenized,
                                  detail: "\"labels\" has \(labels.count) entries but \"input_ids\" has \(ids.count)")
            }
            for t in 0..<ids.count where labels[t] != -100 {
                guard labels[t] == ids[t] else {
                    throw RecordError(reason: .badTokenized,
                                      detail: "labels[\(t)] = \(labels[t]) but input_ids[\(t)] = \(ids[t]); labels must be unshifted (label[t] is the token at t, or -100)")
                }
                trained[t] = 1
            }
        } else if let maskValue = object["trained"] {
            used.insert("trained")
            guard let list = maskValue as? [Any], list.count == ids.count else {
                throw RecordError(reason: .badTokenized,
                                  detail: "\"trained\" must be a list of 0/1 with one entry per input id (\(ids.count))")
            }
            for (t, item) in list.enumerated() {
                switch item {
                case let number as NSNumber where isBool(number): trained[t] = number.boolValue ? 1 : 0
                case let number as NSNumber where number.doubleValue == 0 || number.doubleValue == 1:
                    trained[t] = number.doubleValue == 1 ? 1 : 0
                default:
                    throw RecordError(reason: .badTokenized, detail: "trained[\(t)] is \(describe(item)), not 0 or 1")
                }
            }
        } else {
            throw RecordError(reason: .missingField,
                              detail: "pre-tokenized record without \"labels\" or \"trained\"; add one of them")
        }
        return TokenizedRecord(ids: ids, trained: trained, metadata: metadata(object, excluding: used), source: source)
    }

    static func integers(_ value: Any, field: String) throws -> [Int] {
        guard let list = value as? [Any] else {
            throw RecordError(reason: .badTokenized, detail: "\"\(field)\" is \(describe(value)), not a list of integers")
        }
        var out: [Int] = []
        out.reserveCapacity(list.count)
        for (i, item) in list.enumerated() {
            guard let number = item as? NSNumber, !isBool(number), Double(number.intValue) == number.doubleValue else {
                throw RecordError(reason: .badTokenized, detail: "\(field)[\(i)] is \(describe(item)), not an integer")
            }
            out.append(number.intValue)
        }
        return out
    }

    /// Top-level string fields, kept as metadata (never trained).
    static func metadata(_ object: [String: Any], excluding used: Set<String>) -> [String: String] {
        var out: [String: String] = [:]
        for (key, value) in object where !used.contains(key) {
            if let text = value as? String { out[key] = text }
        }
        return out
    }

    static func isBool(_ number: NSNumber) -> Bool { JSONField.isBoolean(number) }

    /// A short description of a JSON value's type for messages.
    static func describe(_ value: Any) -> String {
        switch value {
        case is NSNull: return "null"
        case is String: return "a string"
        case let number as NSNumber: return isBool(number) ? "a boolean (\(number.boolValue))" : "the number \(number)"
        case is [Any]: return "a list"
        case is [String: Any]: return "an object"
        default: return "\(type(of: value))"
        }
    }
}
