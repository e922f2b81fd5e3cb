import Foundation

/// Text and file output for `llama-sft data`: statistics, examples with trained tokens marked, and a
/// per-token mask dump (as `axolotl preprocess --debug` offers; docs/formats.md, Loss masking).
public enum DataReport {
    /// Multi-line summary: counts (records, valid, skipped with reasons, truncated, dropped), notes, and per
    /// split tokens (total, trained fraction) and length percentiles (p50/p90/p99/max).
    public static func statsText(_ stats: DataStats) -> String {
        var lines: [String] = []
        lines.append("records: \(stats.records) read, \(stats.valid) valid, \(stats.skippedTotal) skipped" +
                     reasons(stats.skipped))
        for file in stats.files {
            lines.append("  \(file.path): \(file.format.rawValue), \(file.records) records, \(file.valid) valid" +
                         (file.skipped.isEmpty ? "" : ", skipped" + reasons(file.skipped)))
            for example in file.skipExamples { lines.append("    skipped \(example)") }
        }
        lines.append("examples: \(stats.train.examples) train, \(stats.eval.examples) eval; \(stats.truncated) truncated to max_seq_len, " +
                     "\(stats.dropped) dropped (\(stats.droppedUntrained) with no trained token, \(stats.droppedTooLong) too long)")
        if stats.specialTextExamples > 0 {
            lines.append("note: \(stats.specialTextExamples) conversation(s) contain special-token text such as <|eot_id|>; it is encoded as plain text")
        }
        if stats.endingWithoutAssistant > 0 {
            lines.append("note: \(stats.endingWithoutAssistant) conversation(s) end with a non-assistant message; the trailing turn is kept but not trained")
        }
        if stats.systemPromptAdded > 0 {
            lines.append("note: system_prompt added to \(stats.systemPromptAdded) conversation(s)")
        }
        for (name, split) in [("train", stats.train), ("eval", stats.eval)] where split.examples > 0 || name == "train" {
            let percent = String(format: "%.1f", split.trainedFraction * 100)
            lines.append("tokens (\(name)): \(split.tokens) total, \(split.trainedTargets) trained (\(percent) %)")
            lines.append("lengths (\(name)): p50 \(split.p50), p90 \(split.p90), p99 \(split.p99), max \(split.max)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func reasons(_ skipped: [InvalidReason: Int]) -> String {
        if skipped.isEmpty { return "" }
        return " (" + skipped.sorted { $0.key < $1.key }.map { "\($0.key.rawValue) \($0.value)" }.joined(separator: ", ") + ")"
    }

    /// One example as text with trained tokens marked: green (ANSI) when `colour`, else `[[…]]` around every
    /// trained span. Each span is decoded on its own with `tokenizer.decode`, so a character split across a
    /// span boundary shows as U+FFFD. Starts with a header line (record, tokens, trained targets).
    public static func renderExample(_ example: Example, tokenizer: some ChatTokenizer, colour: Bool) -> String {
        var out = "record \(example.record)" + (example.category.map { " (\(terminalSafe($0)))" } ?? "") +
            ": \(example.count) tokens, \(example.trainedTargets) trained\n"
        var start = 0
        while start < example.count {
            var end = start + 1
            while end < example.count && example.trained[end] == example.trained[start] { end += 1 }
            let text = terminalSafe(tokenizer.decode(Array(example.ids[start..<end])))
            if example.trained[start] != 0 {
                out += colour ? "\u{1B}[32m" + text + "\u{1B}[0m" : "[[" + text + "]]"
            } else {
                out += text
            }
            start = end
        }
        return out + "\n"
    }

    /// Dataset text made safe to print: control characters other than newline and tab (ESC starts the
    /// ANSI/OSC sequences that recolour, retitle or rewrite a terminal), DEL and the C1 controls are
    /// shown as `\u{XX}` escapes instead of reaching the terminal.
    public static func terminalSafe(_ text: String) -> String {
        var out = ""
        out.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
        for u in text.unicodeScalars {
            let v = u.value
            if (v < 0x20 && v != 0x0A && v != 0x09) || (0x7F...0x9F).contains(v) {
                out += "\\u{" + String(v, radix: 16, uppercase: true) + "}"
            } else {
                out.unicodeScalars.append(u)
            }
        }
        return out
    }

    /// `{"record": <0-based record index in its file>, "ids": [...], "trained": [0/1...]}`.
    public static func dumpLine(_ example: Example) -> String {
        var line = "{\"record\": \(example.record), \"ids\": ["
        line += example.ids.map(String.init).joined(separator: ", ")
        line += "], \"trained\": ["
        line += example.trained.map { $0 == 0 ? "0" : "1" }.joined(separator: ", ")
        line += "]}"
        return line
    }

    /// Writes one ``dumpLine(_:)`` per example, in the given order (pass ``PreparedData/train`` for dataset
    /// order, before shuffling). The file is replaced atomically.
    public static func writeDump(_ examples: [Example], to path: String) throws {
        var text = ""
        for example in examples {
            text += dumpLine(example)
            text += "\n"
        }
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw ChatDataError.unwritableFile(path: path, reason: (error as NSError).localizedDescription)
        }
    }
}
