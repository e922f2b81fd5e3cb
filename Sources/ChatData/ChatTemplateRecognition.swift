extension ChatTemplate {
    /// Which of our templates a model's own Jinja chat template (Hugging Face `chat_template`, GGUF
    /// `tokenizer.chat_template`) produces, judged by the control tokens and fixed text it emits; nil
    /// when it is none of them (the recipe must then name one).
    ///
    /// ChatML: `<|im_start|>` … `<|im_end|>`. Llama 3: `<|start_header_id|>` … `<|eot_id|>`; Llama 3.1 and
    /// 3.2 add the "Cutting Knowledge Date" system block.
    public init?(recognizing jinja: String) {
        if jinja.contains("<|im_start|>") && jinja.contains("<|im_end|>") {
            self = .chatml
        } else if jinja.contains("<|start_header_id|>") && jinja.contains("<|end_header_id|>") && jinja.contains("<|eot_id|>") {
            self = jinja.contains("Cutting Knowledge Date") ? .llama31 : .llama3
        } else {
            return nil
        }
    }
}
