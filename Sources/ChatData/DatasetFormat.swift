/// The record layout of a dataset file.
public enum DatasetFormat: String, Sendable, CaseIterable {
    /// Detect per file from the first record with a known key: `messages`, then `conversations`, then
    /// `input_ids`, then `prompt` + `completion` (a no_robots record has both `prompt` and `messages`: it is
    /// read as `messages`, and `prompt` is kept as metadata).
    case auto
    /// `{"messages": [{"role", "content"}...], ...}` (no_robots, OpenAI style). Roles: system, user, assistant.
    case messages
    /// `{"prompt": "...", "completion": "..."}` → user + assistant. Both may also be message lists (TRL's
    /// conversational prompt-completion), which are concatenated.
    case promptCompletion = "prompt_completion"
    /// ShareGPT `{"conversations": [{"from", "value"}...]}`: human → user, gpt → assistant, system → system
    /// (`user`/`assistant` are accepted as aliases). An optional top-level `"system"` string becomes the
    /// system message when the conversation has none.
    case sharegpt
    /// Pre-tokenized `{"input_ids": [...], "labels": [...]}` with unshifted labels as in Hugging Face
    /// (labels[t] is -100 or input_ids[t]; trained[t] = labels[t] != -100), or `{"input_ids", "trained": [0/1...]}`.
    /// Used as-is: no template, `train_on` does not apply; with a Llama template the ids must start with
    /// exactly one BOS.
    case tokenized
}

/// What to do with an invalid record.
public enum OnInvalid: String, Sendable, CaseIterable {
    /// Stop with an error naming file:line, the reason and the fix.
    case error
    /// Skip it and count it per reason in ``DataStats/skipped``.
    case skip
}
