/// The two products of a linear layer with a frozen weight, in the run's precision: fp32 through
/// OpenBLAS `sgemm`, or — once `packBF16()` has run — bf16 operands with fp32 accumulation (`bf16gemm`).
extension FrozenWeight {
    /// Converts and packs this weight for both bf16 products (once per run; idempotent).
    public func packBF16() {
        if bf16 == nil { bf16 = BF16Weight(self) }
    }

    /// `y = x · Wᵀ`: x `[m, columns]` (row stride `ldx`), y `[m, rows]` (row stride `ldy`), overwritten.
    public func forwardProduct(m: Int, _ x: UnsafePointer<Float>, ldx: Int, _ y: UnsafeMutablePointer<Float>, ldy: Int) {
        WorkProfile.measure(.frozenForward) { forwardProductUnmeasured(m: m, x, ldx: ldx, y, ldy: ldy) }
    }

    private func forwardProductUnmeasured(m: Int, _ x: UnsafePointer<Float>, ldx: Int, _ y: UnsafeMutablePointer<Float>, ldy: Int) {
        if let packed = bf16 {
            bf16gemm(m: m, x, lda: ldx, packed.forward, accumulate: false, y, ldc: ldy)
            return
        }
        withFloat32 { wp in
            sgemm(transA: false, transB: true, m: m, n: rows, k: columns, x, lda: ldx, wp, ldb: columns, y, ldc: ldy)
        }
    }

    /// `dx = beta · dx + dy · W`: dy `[m, rows]`, dx `[m, columns]`; beta is 0 (overwrite) or 1 (add).
    public func backwardProduct(m: Int, _ dy: UnsafePointer<Float>, lddy: Int, _ dx: UnsafeMutablePointer<Float>, lddx: Int, beta: Float) {
        WorkProfile.measure(.frozenBackward) { backwardProductUnmeasured(m: m, dy, lddy: lddy, dx, lddx: lddx, beta: beta) }
    }

    private func backwardProductUnmeasured(m: Int, _ dy: UnsafePointer<Float>, lddy: Int, _ dx: UnsafeMutablePointer<Float>, lddx: Int, beta: Float) {
        if let packed = bf16 {
            precondition(beta == 0 || beta == 1, "backwardProduct: beta must be 0 or 1")
            bf16gemm(m: m, dy, lda: lddy, packed.backward, accumulate: beta == 1, dx, ldc: lddx)
            return
        }
        withFloat32 { wp in
            sgemm(transA: false, transB: false, m: m, n: columns, k: rows, dy, lda: lddy, wp, ldb: columns, beta: beta, dx, ldc: lddx)
        }
    }
}
