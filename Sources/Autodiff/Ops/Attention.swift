import Foundation
import Tensors

/// A run of rows `start ..< start+length` that attend causally among themselves only: one sequence
/// of a batch, or one document of a packed row. Rows outside every segment (padding) are never
/// attended, produce zeros and receive no gradient.
public struct Segment: Sendable, Equatable {
    public let start: Int
    public let length: Int
    public init(start: Int, length: Int) {
        self.start = start
        self.length = length
    }
}

extension Tape {
    /// Causal grouped-query attention over independent segments (REFERENCE §1.3).
    ///
    /// q `[N, H·d]`, k and v `[N, G·d]` (heads are column blocks; already rotated), output `[N, H·d]`.
    /// Query head j uses kv head `j / (H/G)`. `P = softmax(q·kᵀ/sqrt(d) + causal)` in fp32 with the row
    /// max subtracted. Only the row log-sum-exp is saved; backward recomputes P one head at a time, so
    /// memory is O(N·H) plus one `[L, L]` scratch, not O(H·L²) per layer.
    /// Backward: `dV += Pᵀ·dO`, `dP = dO·Vᵀ`, `dS = P ⊙ (dP − rowsum(P ⊙ dP))`, `dQ = dS·K/√d`,
    /// `dK += dSᵀ·Q/√d`; a kv head sums over its query heads.
    public func attention(
        q: Variable, k: Variable, v: Variable, heads: Int, kvHeads: Int, headDim d: Int, segments: [Segment]
    ) -> Variable {
        let n = q.value.rows
        precondition(heads % kvHeads == 0, "attention: \(heads) heads is not a multiple of \(kvHeads) kv heads")
        precondition(q.value.columns == heads * d && k.value.columns == kvHeads * d && v.value.columns == kvHeads * d,
                     "attention: q \(q.shape), k \(k.shape), v \(v.shape) do not match heads/head_dim")
        let rep = heads / kvHeads
        let qs = heads * d, ks = kvHeads * d  // row strides
        let scale = 1 / Float(d).squareRoot()
        let maxLen = segments.map(\.length).max() ?? 0

        let o = Tensor(zeros: [n, qs])
        let lse = Tensor(uninitialized: [n, heads])
        let scores = Tensor(uninitialized: [max(maxLen * maxLen, 1)])
        for seg in segments where seg.length > 0 {
            let len = seg.length
            for h in 0..<heads {
                let g = h / rep
                let qh = q.value.data + seg.start * qs + h * d
                let kg = k.value.data + seg.start * ks + g * d
                let vg = v.value.data + seg.start * ks + g * d
                sgemm(transA: false, transB: true, m: len, n: len, k: d, alpha: scale, qh, lda: qs, kg, ldb: ks,
                      scores.data, ldc: len)
                for i in 0..<len {
                    let row = scores.data + i * len
                    let m = maxElement(row, i + 1)
                    let sum = expShiftSum(row, i + 1, shift: m)
                    let inv = 1 / sum
                    for j in 0...i { row[j] *= inv }
                    if i + 1 < len { (row + i + 1).update(repeating: 0, count: len - i - 1) }
                    lse[(seg.start + i) * heads + h] = m + Foundation.log(sum)
                }
                sgemm(transA: false, transB: false, m: len, n: d, k: len, scores.data, lda: len, vg, ldb: ks,
                      o.data + seg.start * qs + h * d, ldc: qs)
            }
        }

        let out = Variable(o, requiresGrad: q.requiresGrad || k.requiresGrad || v.requiresGrad)
        record(out) { dO in
            let dq = Tensor(zeros: [n, qs]), dk = Tensor(zeros: [n, ks]), dv = Tensor(zeros: [n, ks])
            let p = Tensor(uninitialized: [max(maxLen * maxLen, 1)])
            let dp = Tensor(uninitialized: [max(maxLen * maxLen, 1)])
            for seg in segments where seg.length > 0 {
                let len = seg.length
                for h in 0..<heads {
                    let g = h / rep
                    let qh = q.value.data + seg.start * qs + h * d
                    let kg = k.value.data + seg.start * ks + g * d
                    let vg = v.value.data + seg.start * ks + g * d
                    let doh = dO.data + seg.start * qs + h * d
                    // P = exp(S − lse), recomputed.
                    sgemm(transA: false, transB: true, m: len, n: len, k: d, alpha: scale, qh, lda: qs, kg, ldb: ks,
                          p.data, ldc: len)
                    for i in 0..<len {
                        let row = p.data + i * len
                        _ = expShiftSum(row, i + 1, shift: lse[(seg.start + i) * heads + h])
                        if i + 1 < len { (row + i + 1).update(repeating: 0, count: len - i - 1) }
                    }
                    // dV_g += Pᵀ·dO_h
                    sgemm(transA: true, transB: false, m: len, n: d, k: len, p.data, lda: len, doh, ldb: qs,
                          beta: 1, dv.data + seg.start * ks + g * d, ldc: ks)
                    // dP = dO_h·V_gᵀ
                    sgemm(transA: false, transB: true, m: len, n: len, k: d, doh, lda: qs, vg, ldb: ks, dp.data, ldc: len)
                    // dS = P ⊙ (dP − Σ_j P⊙dP) · scale (the 1/√d of S folded in here)
                    for i in 0..<len {
                        let pr = p.data + i * len, dr = dp.data + i * len
                        let rowDot = dot(pr, dr, i + 1)
                        for j in 0...i { dr[j] = pr[j] * (dr[j] - rowDot) * scale }
                        if i + 1 < len { (dr + i + 1).update(repeating: 0, count: len - i - 1) }
                    }
                    // dQ_h = dS·K_g ; dK_g += dSᵀ·Q_h
                    sgemm(transA: false, transB: false, m: len, n: d, k: len, dp.data, lda: len, kg, ldb: ks,
                          dq.data + seg.start * qs + h * d, ldc: qs)
                    sgemm(transA: true, transB: false, m: len, n: d, k: len, dp.data, lda: len, qh, ldb: qs,
                          beta: 1, dk.data + seg.start * ks + g * d, ldc: ks)
                }
            }
            for (variable, grad) in [(q, dq), (k, dk), (v, dv)] where variable.requiresGrad {
                variable.accumulateGrad { dst, beta in
                    beta == 0 ? dst.update(from: grad.data, count: grad.count) : axpy(1, grad.data, dst, grad.count)
                }
            }
        }
        return out
    }
}
