import Tensors

extension LlamaWeights {
    /// Prepares the frozen decoder weights for `precision` (resolved for this CPU): for bf16, converts and
    /// packs every projection once, so each step's products use the bf16 kernel; for fp32, nothing.
    /// The LM head's products go bf16 too (its softmax and the loss stay fp32); the embedding lookup reads
    /// the fp32 weights. Returns the precision used.
    @discardableResult
    public func prepare(precision: Precision) -> Precision {
        let used = precision.resolved()
        guard used == .bf16 else { return used }
        for layer in layers {
            layer.qkv.packBF16()
            layer.gateUp.packBF16()
            layer[.o].packBF16()
            layer[.down].packBF16()
        }
        lmHead.packBF16()
        return used
    }
}
