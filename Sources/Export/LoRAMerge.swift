import GGUF
import Llama
import SafeTensors
import Tensors

/// Counts gathered while merged tensors are written.
final class MergeStatistics {
    /// Adapted projections written.
    var mergedTensors = 0
    /// Elements whose scaled delta `s·(B·A)` is non-zero.
    var changedEntries = 0
    /// Of those, elements whose stored value equals the base's stored value after rounding —
    /// `round(W + ΔW) == round(W)` — i.e. the update was lost to the output dtype (docs/formats.md, Float formats and Export).
    var lostEntries = 0
    /// Tensors whose dtype changed on the way (e.g. an F32 base exported as BF16).
    var convertedTensors = 0
}

/// Produces the bytes of one merged-model tensor on demand, so the writer holds one tensor at a time.
///
/// Merge rule (docs/formats.md, LoRA): `W' = round(float(W) + s·(B·A))`, computed in fp32 and rounded once to the
/// target dtype. The delta is formed as PEFT does (`(B @ A) * scale`, then added to W). The tensor is
/// processed in row blocks of about 1 MB so the fp32 working copies stay small whatever the model size;
/// a tensor whose dtype does not change and that has no adapter is copied byte for byte.
enum LoRAMerge {
    /// Where a merged tensor's base values come from.
    enum BaseRows {
        /// The stored bytes of a safetensors base, widened from `PlannedTensor.stored`.
        case safetensors(RawTensorReader)
        /// fp32 rows of a GGUF base, dequantized in Hugging Face names and row order; q and k are read in
        /// whole heads of `headDim` rows.
        case dequantized(GGUFMergeBase.RowReader, headDim: Int)
    }

    static func tensorToWrite(_ t: PlannedTensor, base rows: BaseRows, adapters: LoRAAdapters,
                              stats: MergeStatistics) -> TensorToWrite {
        TensorToWrite(name: t.name, dtype: t.target, shape: t.shape) { out in
            guard let base = out.baseAddress, out.count > 0 else { return }
            if case .safetensors(let reader) = rows, t.merge == nil && t.stored == t.target {
                try reader.read(t.name, count: out.count, into: base)   // bit-exact copy
                return
            }
            if t.merge != nil { stats.mergedTensors += 1 } else { stats.convertedTensors += 1 }
            try transform(t, rows: rows, adapters: adapters, stats: stats, into: base)
        }
    }

    /// Widens row blocks of the base tensor, adds the LoRA delta if any, and rounds into `out`.
    private static func transform(_ t: PlannedTensor, rows source: BaseRows, adapters: LoRAAdapters,
                                  stats: MergeStatistics, into out: UnsafeMutableRawPointer) throws {
        let count = t.shape.reduce(1, *)
        let columns = t.shape.count >= 2 ? t.shape[t.shape.count - 1] : count
        let rows = count / max(columns, 1)
        let storedBytes = t.stored.bitSize / 8, targetBytes = t.target.bitSize / 8
        // A dequantized base returns q/k rows from whole heads only, so blocks hold whole heads there.
        var unit = 1
        if case .dequantized(_, let headDim) = source, GGUFTensorNames.permutedHeads(hfName: t.name, heads: 1, kvHeads: 1) != nil {
            unit = headDim
        }
        let blockRows = max(unit, min(rows, (1 << 18) / max(columns, 1)) / unit * unit)
        let blockCount = blockRows * columns

        let raw = UnsafeMutableRawPointer.allocate(byteCount: blockCount * storedBytes, alignment: 64)
        let w = UnsafeMutablePointer<Float>.allocate(capacity: blockCount)
        let delta = UnsafeMutablePointer<Float>.allocate(capacity: t.merge == nil ? 1 : blockCount)
        defer { raw.deallocate(); w.deallocate(); delta.deallocate() }

        let pair = t.merge.flatMap { adapters.pairs[$0.layer][$0.projection] }
        let scale = adapters.config.scale
        let rank = adapters.config.rank
        var changed = 0, lost = 0, overflowed = 0

        var start = 0
        while start < rows {
            let n = min(blockRows, rows - start), m = n * columns
            switch source {
            case .safetensors(let reader):
                try reader.read(t.name, byteOffset: start * columns * storedBytes, count: m * storedBytes, into: raw)
                FloatCoding.widen(raw, t.stored, into: w, count: m)
            case .dequantized(let readRows, _):
                try readRows(t.name, start, n, w)
            }
            if let pair {
                // ΔW rows [start, start+n) = B[start..<start+n, :] · A      ([n, r] · [r, in] → [n, in])
                sgemm(transA: false, transB: false, m: n, n: columns, k: rank,
                      pair.b.value.data + start * rank, lda: rank, pair.a.value.data, ldb: columns,
                      delta, ldc: columns)
                let target = t.target
                for i in 0..<m {
                    let d = delta[i] * scale
                    guard d != 0 else { continue }
                    let merged = w[i] + d
                    changed += 1
                    if FloatCoding.bits(merged, target) == FloatCoding.bits(w[i], target) { lost += 1 }
                    w[i] = merged
                }
            }
            overflowed += FloatCoding.narrow(w, into: out + start * columns * targetBytes, t.target, count: m)
            start += n
        }
        stats.changedEntries += changed
        stats.lostEntries += lost
        if overflowed > 0 { throw ExportError.overflow(tensor: t.name, dtype: t.target.rawValue, count: overflowed) }
    }
}
