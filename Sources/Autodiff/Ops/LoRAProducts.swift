import Tensors

/// The fp32 products of one LoRA adapter (`A [r, in]`, `B [out, r]`), each named for what it computes,
/// in the layout its kernel runs best (docs/precision.md, LoRA products).
///
/// `.openBLAS` (fp32 runs) makes exactly the `sgemm` calls the LoRA ops always made, so fp32 results
/// do not change. `.avx512` (bf16 runs) never lets the rank be the short side of a micro-tile: the
/// products whose output is rank-wide (`X·Aᵀ`, `dY·B`) run on the dot-product kernel, `dB` is computed
/// as `dBᵀ = Hrᵀ·dY` (rank rows × `out` columns) and transposed into place, and `Hr·Bᵀ` reads a `Bᵀ`
/// copied once per forward pass (`transposedB`) and shared with `dY·B` in backward.
public struct LoRAProducts {
    public let kind: FP32Products

    public init(_ kind: FP32Products) { self.kind = kind }

    /// `B` as the `.avx512` products read it: `Bᵀ [r, out]` (copied); nil for `.openBLAS`, which reads `B`.
    public func transposedB(_ b: Tensor) -> Tensor? {
        guard case .avx512 = kind else { return nil }
        let out = b.rows, r = b.columns
        let t = Tensor(uninitialized: [r, out])
        for j in 0..<out { for p in 0..<r { t.data[p * out + j] = b.data[j * r + p] } }
        return t
    }

    /// `Hr [n, r] = X·Aᵀ` (X row stride `ldx`, Hr row stride `ldh`).
    public func down(n: Int, r: Int, inF: Int, _ x: UnsafePointer<Float>, ldx: Int, _ a: UnsafePointer<Float>,
              _ hr: UnsafeMutablePointer<Float>, ldh: Int) {
        switch kind {
        case .openBLAS:
            kind.gemm(transA: false, transB: true, m: n, n: r, k: inF, x, lda: ldx, a, ldb: inF, hr, ldc: ldh)
        case .avx512:
            sgemmNarrowAVX512(m: n, n: r, k: inF, x, lda: ldx, a, ldb: inF, accumulate: false, hr, ldc: ldh)
        }
    }

    /// `Y += s·Hr·Bᵀ` into `out` columns of Y (row stride `ldy`); `bT` from `transposedB`.
    public func up(n: Int, out: Int, r: Int, scale s: Float, _ hr: UnsafePointer<Float>, ldh: Int, b: Tensor, bT: Tensor?,
            _ y: UnsafeMutablePointer<Float>, ldy: Int) {
        if let bT {
            sgemmAVX512(transA: false, m: n, n: out, k: r, alpha: s, hr, lda: ldh, bT.data, ldb: out, accumulate: true, y, ldc: ldy)
        } else {
            kind.gemm(transA: false, transB: true, m: n, n: out, k: r, alpha: s, hr, lda: ldh, b.data, ldb: r, beta: 1, y, ldc: ldy)
        }
    }

    /// `dB (+)= s·dYᵀ·Hr` (`beta` 0: overwrite, 1: accumulate), dY: `out` columns, row stride `ldy`.
    public func gradB(n: Int, out: Int, r: Int, scale s: Float, _ dy: UnsafePointer<Float>, ldy: Int, _ hr: UnsafePointer<Float>, ldh: Int,
               _ db: UnsafeMutablePointer<Float>, beta: Float) {
        switch kind {
        case .openBLAS:
            kind.gemm(transA: true, transB: false, m: out, n: r, k: n, alpha: s, dy, lda: ldy, hr, ldb: ldh, beta: beta, db, ldc: r)
        case .avx512:
            // dBᵀ [r, out] = s·Hrᵀ·dY: rank rows, out columns (the wide side on the kernel's columns).
            let dbT = Tensor(uninitialized: [r, out])
            sgemmTallAVX512(m: r, n: out, k: n, alpha: s, hr, lda: ldh, dy, ldb: ldy, accumulate: false, dbT.data, ldc: out)
            for j in 0..<out {
                for p in 0..<r { db[j * r + p] = beta == 0 ? dbT.data[p * out + j] : db[j * r + p] + dbT.data[p * out + j] }
            }
        }
    }

    /// `dHr [n, r] = s·dY·B` (dY: `out` columns, row stride `ldy`; dHr row stride `ldh`).
    public func gradHr(n: Int, out: Int, r: Int, scale s: Float, _ dy: UnsafePointer<Float>, ldy: Int, b: Tensor, bT: Tensor?,
                _ dhr: UnsafeMutablePointer<Float>, ldh: Int) {
        if let bT {
            sgemmNarrowAVX512(m: n, n: r, k: out, alpha: s, dy, lda: ldy, bT.data, ldb: out, accumulate: false, dhr, ldc: ldh)
        } else {
            kind.gemm(transA: false, transB: false, m: n, n: r, k: out, alpha: s, dy, lda: ldy, b.data, ldb: r, dhr, ldc: ldh)
        }
    }

    /// `dA [r, in] (+)= dHrᵀ·X̃` (X̃ row stride `ldx`).
    public func gradA(n: Int, r: Int, inF: Int, _ dhr: UnsafePointer<Float>, ldh: Int, _ x: UnsafePointer<Float>, ldx: Int,
               _ da: UnsafeMutablePointer<Float>, beta: Float) {
        switch kind {
        case .openBLAS:
            kind.gemm(transA: true, transB: false, m: r, n: inF, k: n, dhr, lda: ldh, x, ldb: ldx, beta: beta, da, ldc: inF)
        case .avx512:
            sgemmTallAVX512(m: r, n: inF, k: n, dhr, lda: ldh, x, ldb: ldx, accumulate: beta == 1, da, ldc: inF)
        }
    }

    /// `dX (+)= dHr·A` (`beta` 0: overwrite, 1: accumulate), dX row stride `inF`.
    public func gradX(n: Int, r: Int, inF: Int, _ dhr: UnsafePointer<Float>, ldh: Int, _ a: UnsafePointer<Float>,
               _ dx: UnsafeMutablePointer<Float>, beta: Float) {
        kind.gemm(transA: false, transB: false, m: n, n: inF, k: r, dhr, lda: ldh, a, ldb: inF, beta: beta, dx, ldc: inF)
    }

    /// `dX += dropout_bwd(dHr·A)` (the mask of `seed`, rate `p`, over `[n, inF]`), a few rows at a time
    /// through a small scratch per worker instead of an `[n, inF]` temporary. Every element is the same
    /// product, mask and addition as on the whole matrix at once (rows of a product do not depend on
    /// which other rows share the call).
    public func gradXDropped(n: Int, r: Int, inF: Int, _ dhr: UnsafePointer<Float>, ldh: Int, _ a: UnsafePointer<Float>,
                             seed: UInt64, p: Float, _ dx: UnsafeMutablePointer<Float>) {
        let chunkRows = max(1, 16384 / max(1, inF)), workers = Threads.count
        let scratch = Tensor(uninitialized: [workers * chunkRows * inF])
        let per = (n + workers - 1) / workers
        Threads.parallelWorkers { w in
            let t = scratch.data + w * chunkRows * inF
            for r0 in stride(from: w * per, to: min(n, (w + 1) * per), by: chunkRows) {
                let rows = min(chunkRows, min(n, (w + 1) * per) - r0)
                gradX(n: rows, r: r, inF: inF, dhr + r0 * ldh, ldh: ldh, a, t, beta: 0)
                DropoutMask.apply(seed: seed, p: p, t, t, count: rows * inF, start: r0 * inF)
                axpy(1, t, dx + r0 * inF, rows * inF)
            }
        }
    }
}

