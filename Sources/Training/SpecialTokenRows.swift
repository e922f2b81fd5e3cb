import ChatData
import Llama
import Tensors

extension Trainer {
    /// A base (non-instruct) model has never trained the chat template's control tokens; their
    /// embedding rows are (near) zero, and the frozen embeddings stay that way, which gives garbage or
    /// NaNs. Flags rows whose norm is under 1 % of the typical row's.
    static func untrainedSpecialRows(_ embedding: FrozenWeight, tokenizer: any ChatTokenizer, template: ChatTemplate) -> [String] {
        let names = template == .chatml ? ["<|im_start|>", "<|im_end|>"] : ["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
        let row = Tensor(uninitialized: [embedding.columns])
        func norm(_ r: Int) -> Float {
            embedding.copyRow(r, to: row.data)
            return dot(row.data, row.data, row.count).squareRoot()
        }
        let sample = stride(from: 0, to: embedding.rows, by: max(1, embedding.rows / 512)).map(norm).sorted()
        guard let typical = sample.isEmpty ? nil : sample[sample.count / 2], typical > 0 else { return [] }
        return names.compactMap { name in
            guard let id = tokenizer.specialTokenID(name), id < embedding.rows else { return nil }
            let n = norm(id)
            return n < 0.01 * typical
                ? "the embedding row of \(name) (id \(id)) is near zero (norm \(n) vs a typical \(typical)): this looks like a base model that never saw the chat template. Train from the Instruct model, or expect poor results (embeddings are frozen)."
                : nil
        }
    }
}
