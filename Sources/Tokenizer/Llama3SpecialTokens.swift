/// Names of the 256 special tokens that follow the ranked vocabulary of a Llama 3 `tokenizer.model`.
///
/// `tokenizer.model` does not store them; ids are `baseCount + i`. Naming follows Llama 3.1 / 3.2
/// (docs/formats.md, Tokenizer; transformers `convert_llama_weights_to_hf.py`). Only the ids matter to the chat
/// template and they are the same in every release: 128000 begin_of_text, 128006/128007 headers, 128009 eot.
enum Llama3SpecialTokens {
    static let count = 256

    /// Name of special token number `index` (0..<256), i.e. id `baseCount + index`.
    static func name(at index: Int) -> String {
        switch index {
        case 0: return "<|begin_of_text|>"
        case 1: return "<|end_of_text|>"
        case 2: return "<|reserved_special_token_0|>"
        case 3: return "<|reserved_special_token_1|>"
        case 4: return "<|finetune_right_pad_id|>"
        case 5: return "<|reserved_special_token_2|>"
        case 6: return "<|start_header_id|>"
        case 7: return "<|end_header_id|>"
        case 8: return "<|eom_id|>"
        case 9: return "<|eot_id|>"
        case 10: return "<|python_tag|>"
        default: return "<|reserved_special_token_\(index - 8)|>"   // 11 → _3 … 255 → _247
        }
    }
}
