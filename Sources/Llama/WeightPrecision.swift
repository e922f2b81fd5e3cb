import Tensors

extension LlamaWeights {
    /// Prepares the frozen decoder weights for `precision` (resolved for this CPU): for bf16, converts and
    /// packs every projection and the LM head once, so each step's products use the bf16 kernel, and
    /// makes the packed panels each weight's only copy (docs/precision.md, Memory); for fp32, nothing.
    /// Returns the precision used.
    ///
    /// The embedding lookup reads the stored values widened (as autocast, which leaves embeddings
    /// alone): an untied embedding is not packed; a tied one is the LM head, whose panels hold exactly
    /// its values when they are stored in bf16 — otherwise (fp32, f16, quantized) the stored base is
    /// kept beside the panels for the lookup.
    @discardableResult
    public func prepare(precision: Precision) -> Precision {
        let used = precision.resolved()
        guard used == .bf16 else { return used }
        // 16-bit tensors of a loaded model are views of its read-only file mapping(s).
        let fileMapped = source != nil || gguf != nil
        for layer in layers {
            layer.qkv.packBF16()
            layer.qkv.releaseBaseForBF16(fileMapped: fileMapped, parts: [layer[.q], layer[.k], layer[.v]])
            layer.gateUp.packBF16()
            layer.gateUp.releaseBaseForBF16(fileMapped: fileMapped, parts: [layer[.gate], layer[.up]])
            for p in [Projection.o, .down] {
                layer[p].packBF16()
                layer[p].releaseBaseForBF16(fileMapped: fileMapped)
            }
            // Released fp32 weights go back to the tensor pool: give that memory back to the system
            // layer by layer, so the fp32 base and the panels never coexist whole.
            BufferPool.shared.trim()
        }
        lmHead.packBF16()
        if lmHead !== embedding || lmHead.storesBF16 {
            lmHead.releaseBaseForBF16(fileMapped: fileMapped)
        }
        BufferPool.shared.trim()
        return used
    }
}

extension FrozenWeight {
    /// The stored values are bf16 (so packed panels hold them exactly).
    var storesBF16: Bool {
        if case .bfloat16 = storage { return true }
        return false
    }
}
