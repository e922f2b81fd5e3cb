import Foundation
import Tensors

extension Tape {
    /// Largest softmax (`[positions, V]` fp32) the LM-head loss keeps for its backward pass.
    nonisolated(unsafe) public static var keptSoftmaxBudgetBytes = 256 << 20

    /// LM head fused with cross-entropy over chosen positions: returns the scalar `Σ_i NLL_i` where
    /// `NLL_i = logsumexp(z_i) − z_i[targets[i]]` and `z_i = h[positions[i]]·Wᵀ`.
    ///
    /// Only the listed rows go through the LM head, in chunks of `chunk` rows, so untrained positions
    /// cost nothing and the `[T, V]` logits never exist at once (docs/architecture.md, Memory). The sum (not the mean)
    /// is returned so a step can divide by the trained-token count of all its micro-batches.
    /// Backward: `dz = (softmax(z) − onehot(y))·dL`, `dh = dz·W`, with the softmax kept from forward when it
    /// fits `keptSoftmaxBudgetBytes`, else recomputed chunk by chunk.
    public func lmHeadCrossEntropy(
        _ h: Variable, weight w: FrozenWeight, positions: [Int], targets: [Int], chunk: Int = 128
    ) -> Variable {
        precondition(positions.count == targets.count, "lmHeadCrossEntropy: \(positions.count) positions, \(targets.count) targets")
        let dim = h.value.columns, vocab = w.rows, count = positions.count
        precondition(w.columns == dim, "lmHeadCrossEntropy: h \(h.shape) does not match W \(w.shape)")
        for t in targets { precondition(t >= 0 && t < vocab, "lmHeadCrossEntropy: target \(t) outside 0..<\(vocab)") }
        let lse = Tensor(uninitialized: [max(count, 1)])
        let rowsPerChunk = min(chunk, max(count, 1))
        // Keep the softmax for backward when it is small enough (saves recomputing the LM-head GEMM);
        // otherwise backward recomputes each chunk's logits.
        let keep = isRecording && h.requiresGrad && count * vocab * 4 <= Self.keptSoftmaxBudgetBytes
        let probabilities = keep ? Tensor(uninitialized: [count, vocab]) : nil
        /// logits[0..<c] = h[positions[start..<start+c]] · Wᵀ (rows gathered into `rows` first).
        func chunkLogits(_ start: Int, _ c: Int, _ wp: UnsafePointer<Float>?, rows: Tensor, into logits: UnsafeMutablePointer<Float>) {
            for i in 0..<c { (rows.data + i * dim).update(from: h.value.data + positions[start + i] * dim, count: dim) }
            if let wp {
                sgemm(transA: false, transB: true, m: c, n: vocab, k: dim, rows.data, lda: dim, wp, ldb: dim, logits, ldc: vocab)
            } else {
                w.forwardProduct(m: c, rows.data, ldx: dim, logits, ldy: vocab)
            }
        }
        /// fp32: the weight as fp32 (widened once per pass when stored in 16 bits); bf16 (packed weight):
        /// nil, and the products go through the bf16 kernel. The softmax and the loss stay fp32 either way.
        func withHeadWeight(_ body: (UnsafePointer<Float>?) -> Void) {
            if w.bf16 != nil { body(nil) } else { w.withFloat32 { body($0) } }
        }
        var total = 0.0
        do {
            let rows = Tensor(uninitialized: [rowsPerChunk, dim])
            let scratch = keep ? nil : Tensor(uninitialized: [rowsPerChunk, vocab])
            withHeadWeight { wp in
                for start in stride(from: 0, to: count, by: chunk) {
                    let c = min(chunk, count - start)
                    let logits = probabilities.map { $0.data + start * vocab } ?? scratch!.data
                    chunkLogits(start, c, wp, rows: rows, into: logits)
                    for i in 0..<c {
                        let z = logits + i * vocab
                        let target = z[targets[start + i]]
                        let m = maxElement(z, vocab)
                        let sum = expShiftSum(z, vocab, shift: m)  // z ← exp(z − m)
                        let l = m + Foundation.log(sum)
                        lse[start + i] = l
                        total += Double(l - target)
                        if keep {  // z ← softmax, its denormals zero (see backward)
                            scale(z, 1 / sum, z, vocab)
                            flushDenormalsToZero(z, vocab)
                        }
                    }
                }
            }
        }
        let out = Variable(Tensor(shape: [], values: [Float(total)]), requiresGrad: h.requiresGrad)
        record(out) { dL in WorkProfile.measure(.lossBackward) {
            let g = dL[0]
            h.accumulateGrad { dh, beta in
                if beta == 0 { dh.update(repeating: 0, count: h.value.count) }
                let rows = Tensor(uninitialized: [rowsPerChunk, dim])
                let scratch = probabilities == nil ? Tensor(uninitialized: [rowsPerChunk, vocab]) : nil
                let dRows = Tensor(uninitialized: [rowsPerChunk, dim])
                withHeadWeight { wp in
                    for start in stride(from: 0, to: count, by: chunk) {
                        let c = min(chunk, count - start)
                        let z: UnsafeMutablePointer<Float>
                        if let probabilities {
                            z = probabilities.data + start * vocab
                        } else {
                            z = scratch!.data
                            chunkLogits(start, c, wp, rows: rows, into: z)
                            for i in 0..<c { _ = expShiftSum(z + i * vocab, vocab, shift: lse[start + i]) }  // softmax
                        }
                        // dz = (softmax(z) − onehot(y))·dL, rows split across the workers (element-wise: same bits).
                        // Its denormals are set to zero before dz·W: with a large vocabulary most entries
                        // are, and each would cost the GEMM a microcode assist. A term below 2⁻¹²⁶·|w|
                        // cannot change a sum that also holds the target's (p − 1)·dL·w, and the bf16
                        // kernels read denormals as zero anyway.
                        parallelChunks(c, minimumPerChunk: max(1, 65536 / max(1, vocab))) { rows in
                            for i in rows {
                                let zr = z + i * vocab
                                scale(zr, g, zr, vocab)
                                zr[targets[start + i]] -= g
                                flushDenormalsToZero(zr, vocab)
                            }
                        }
                        if let wp {
                            sgemm(transA: false, transB: false, m: c, n: dim, k: vocab, z, lda: vocab, wp, ldb: dim, dRows.data, ldc: dim)
                        } else {
                            w.backwardProduct(m: c, z, lddy: vocab, dRows.data, lddx: dim, beta: 0)
                        }
                        for i in 0..<c { axpy(1, dRows.data + i * dim, dh + positions[start + i] * dim, dim) }
                    }
                }
            }
        } }
        return out
    }
}
