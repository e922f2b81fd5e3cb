import ChatData
import Foundation

/// The chat format a model was fine-tuned in, as a recipe states it (`data.template`, `data.template_date`,
/// `data.system_prompt`), with the texts that make other tools render prompts the same way: a Jinja
/// `tokenizer.chat_template` (Hugging Face, llama.cpp) and an Ollama `TEMPLATE` (Go text/template).
///
/// Both texts render what ``ChatRenderer`` builds from token pieces: for `llama3`/`llama3.1`, content is
/// trimmed in Jinja (as the Hugging Face templates do); Go templates have no trim, so the Ollama template
/// assumes content without leading or trailing whitespace, as Ollama's own Llama 3 templates do.
/// Tools and images are not rendered.
public struct ChatFormat: Sendable, Equatable {
    public var template: ChatTemplate
    /// The date in the `llama3.1` system block.
    public var date: String
    /// The system message added to conversations that have none (the recipe's `system_prompt`).
    public var systemPrompt: String?

    public init(template: ChatTemplate, date: String = ChatTemplate.defaultDate, systemPrompt: String? = nil) {
        self.template = template
        self.date = date
        self.systemPrompt = systemPrompt
    }

    /// The token that closes every turn and that the model was trained to emit.
    public var endOfTurnToken: String { template == .chatml ? "<|im_end|>" : "<|eot_id|>" }

    /// The token that opens a turn: generation should also stop there, should the model skip its end token.
    public var turnStartToken: String { template == .chatml ? "<|im_start|>" : "<|start_header_id|>" }

    // MARK: Jinja

    /// `tokenizer.chat_template`: the format as a Jinja template (with `add_generation_prompt`).
    public var jinja: String {
        let defaultSystem = systemPrompt.map(Self.jinjaString)
        switch template {
        case .llama3:
            var t = "{{- bos_token }}"
            if let defaultSystem {
                t += "{%- if messages[0]['role'] != 'system' %}"
                    + "{{- '<|start_header_id|>system<|end_header_id|>\\n\\n' + \(defaultSystem) | trim + '<|eot_id|>' }}"
                    + "{%- endif %}"
            }
            return t + "{%- for message in messages %}"
                + "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}"
                + "{%- endfor %}"
                + "{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}"
        case .llama31:
            return "{{- bos_token }}"
                + "{%- if messages[0]['role'] == 'system' %}"
                + "{%- set system_message = messages[0]['content'] | trim %}{%- set messages = messages[1:] %}"
                + "{%- else %}{%- set system_message = \(defaultSystem.map { "\($0) | trim" } ?? "''") %}{%- endif %}"
                + "{{- '<|start_header_id|>system<|end_header_id|>\\n\\nCutting Knowledge Date: December 2023\\nToday Date: ' + "
                + Self.jinjaString(date) + " + '\\n\\n' + system_message + '<|eot_id|>' }}"
                + "{%- for message in messages %}"
                + "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}"
                + "{%- endfor %}"
                + "{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}"
        case .chatml:
            var t = ""
            if let defaultSystem {
                t += "{%- if messages[0]['role'] != 'system' %}{{- '<|im_start|>system\\n' + \(defaultSystem) + '<|im_end|>\\n' }}{%- endif %}"
            }
            return t + "{%- for message in messages %}"
                + "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
                + "{%- endfor %}"
                + "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
        }
    }

    /// A Jinja string literal holding `text` (single quotes; backslash escapes as Python reads them).
    static func jinjaString(_ text: String) -> String {
        var out = "'"
        for c in text.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "'": out += "\\'"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default: out.unicodeScalars.append(c)
            }
        }
        return out + "'"
    }

    // MARK: Ollama

    /// The Ollama `TEMPLATE`. Ollama passes the conversation as `.Messages` (a Modelfile `SYSTEM` becomes
    /// the first message when the request has no system message); after the last message, unless it is
    /// the assistant's, the assistant header invites the answer. Ollama adds no BOS here: llama.cpp adds
    /// it from the GGUF's `tokenizer.ggml.add_bos_token`.
    public var ollamaTemplate: String {
        let last = "{{- $last := eq (len (slice $.Messages $i)) 1 -}}\n"
        switch template {
        case .llama3:
            return "{{- range $i, $_ := .Messages }}\n" + last
                + "<|start_header_id|>{{ .Role }}<|end_header_id|>\n\n{{ .Content }}<|eot_id|>\n"
                + "{{- if and $last (ne .Role \"assistant\") }}<|start_header_id|>assistant<|end_header_id|>\n\n{{ end }}\n"
                + "{{- end }}"
        case .llama31:
            // The system block comes first whether or not there is a system message.
            return "<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: \(date)\n\n"
                + "{{ range .Messages }}{{ if eq .Role \"system\" }}{{ .Content }}{{ end }}{{ end }}<|eot_id|>\n"
                + "{{- range $i, $_ := .Messages }}\n" + last
                + "{{- if ne .Role \"system\" }}<|start_header_id|>{{ .Role }}<|end_header_id|>\n\n{{ .Content }}<|eot_id|>{{ end }}\n"
                + "{{- if and $last (ne .Role \"assistant\") }}<|start_header_id|>assistant<|end_header_id|>\n\n{{ end }}\n"
                + "{{- end }}"
        case .chatml:
            return "{{- range $i, $_ := .Messages }}\n" + last
                + "<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n"
                + "{{ if and $last (ne .Role \"assistant\") }}<|im_start|>assistant\n{{ end }}\n"
                + "{{- end }}"
        }
    }
}

extension ChatFormat {
    /// The format named by the nearest `recipe.json` of the export source (`data.template`, default
    /// `llama3` as in the recipe; `data.template_date`; `data.system_prompt`). `override` (`--template`)
    /// replaces the template. Throws when neither a recipe nor an override says.
    static func resolve(source: ExportSource, override: ChatTemplate?, log: (String) -> Void) throws -> ChatFormat {
        for recipe in source.recipeCandidates {
            guard let data = FileManager.default.contents(atPath: recipe) else { continue }
            guard let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
                throw ExportError.badJSON(path: recipe, reason: "not a JSON object")
            }
            let section = json["data"] as? [String: Any] ?? [:]
            var format = ChatFormat(template: .llama3)
            if let name = section["template"] as? String {
                guard let template = ChatTemplate(rawValue: name) else {
                    throw ExportError.badJSON(path: recipe, reason: "data.template \"\(name)\" is not one of \(ChatTemplate.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                format.template = template
            }
            if let date = section["template_date"] as? String { format.date = date }
            format.systemPrompt = section["system_prompt"] as? String
            if let override, override != format.template {
                log("note: --template \(override.rawValue) replaces the recipe's \(format.template.rawValue) (\(recipe))")
                format.template = override
            }
            log("chat format: \(format.template.rawValue) (from \(recipe))")
            return format
        }
        guard let override else {
            throw ExportError.notASource(path: source.adapterDirectory, reason: "no recipe.json says which chat template the model was trained with; pass --template llama3|llama3.1|chatml")
        }
        return ChatFormat(template: override)
    }
}
