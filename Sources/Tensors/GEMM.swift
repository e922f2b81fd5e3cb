import CBLAS
import CKernels

/// `C = alpha · op(A) · op(B) + beta · C`, row-major, through OpenBLAS `cblas_sgemm`.
///
/// `op(A)` is `[m, k]` and `op(B)` is `[k, n]`; `lda`, `ldb`, `ldc` are the row strides of the
/// stored matrices (so a column block of a wider matrix can be used in place, e.g. one attention head).
///
/// Threading: OpenBLAS itself runs single-threaded; a large GEMM is split by rows or columns of C
/// across the `Threads` workers, each calling OpenBLAS on its block. Idle OpenBLAS workers spin in `sched_yield`
/// between calls and steal the core from element-wise loops (measured: ~18 % of all cycles); Dispatch
/// workers sleep instead. Each element of C is computed by one call with the same k-order either way,
/// so the split does not change results.
public func sgemm(
    transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
    alpha: Float = 1, _ a: UnsafePointer<Float>, lda: Int,
    _ b: UnsafePointer<Float>, ldb: Int,
    beta: Float = 0, _ c: UnsafeMutablePointer<Float>, ldc: Int
) {
    let workers = Threads.workersForGEMM(m: m, n: n, k: k)
    if workers <= 1 {
        sgemmSerial(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a, lda: lda, b, ldb: ldb, beta: beta, c, ldc: ldc)
        return
    }
    let ap = UncheckedBox(a), bp = UncheckedBox(b), cp = UncheckedBox(c)
    // Every worker packs the whole operand it does not split, so split the dimension whose other
    // operand is smaller: rows of C when op(A) is the larger (m ≥ n), else columns (e.g. the LM head,
    // where op(B) is the [V, D] vocabulary matrix).
    if m >= n {
        let per = ((m + workers - 1) / workers + 7) / 8 * 8  // whole 8-row kernel tiles
        Threads.parallelWorkers { w in
            let lo = w * per, hi = min(m, lo + per)
            guard lo < hi else { return }
            let aBlock = transA ? ap.value + lo : ap.value + lo * lda  // rows lo..<hi of op(A)
            sgemmSerial(transA: transA, transB: transB, m: hi - lo, n: n, k: k, alpha: alpha, aBlock, lda: lda, bp.value, ldb: ldb,
                        beta: beta, cp.value + lo * ldc, ldc: ldc)
        }
    } else {
        let per = ((n + workers - 1) / workers + 15) / 16 * 16  // whole 16-column kernel tiles
        Threads.parallelWorkers { w in
            let lo = w * per, hi = min(n, lo + per)
            guard lo < hi else { return }
            let bBlock = transB ? bp.value + lo * ldb : bp.value + lo  // columns lo..<hi of op(B)
            sgemmSerial(transA: transA, transB: transB, m: m, n: hi - lo, k: k, alpha: alpha, ap.value, lda: lda, bBlock, ldb: ldb,
                        beta: beta, cp.value + lo, ldc: ldc)
        }
    }
}

@inline(__always)
func sgemmSerial(
    transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
    alpha: Float = 1, _ a: UnsafePointer<Float>, lda: Int,
    _ b: UnsafePointer<Float>, ldb: Int,
    beta: Float = 0, _ c: UnsafeMutablePointer<Float>, ldc: Int
) {
    if m == 0 || n == 0 { return }
    if k == 0 {
        // BLAS would leave C untouched with beta 1 and is allowed to skip it otherwise; make it explicit.
        if beta == 0 { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) } }
        else if beta != 1 { for i in 0..<m { for j in 0..<n { c[i * ldc + j] *= beta } } }
        return
    }
    cblas_sgemm(
        CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
        blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
}

/// Which fp32 GEMM computes an op's products (attention, LoRA). The arithmetic is fp32 either way;
/// the summation order is not.
public enum FP32Products: Sendable {
    /// OpenBLAS `sgemm`: fp32 runs, whose results must not change.
    case openBLAS
    /// `sgemmAVX512`: bf16 runs on CPUs with AVX-512F, where OpenBLAS may run old SSE kernels.
    case avx512

    /// `.avx512` for a bf16 run where the CPU has AVX-512F, else `.openBLAS`.
    public static func forRun(bf16: Bool) -> FP32Products { bf16 && CPUInfo.current.avx512f ? .avx512 : .openBLAS }

    /// `C = alpha · op(A) · op(B) + beta · C` like `sgemm`, with this kernel. `.avx512` takes beta 0 or
    /// 1 only, and copies a transposed B to `[k, n]` first (the ops' transposed operands are small).
    public func gemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: Float = 1, _ a: UnsafePointer<Float>, lda: Int,
        _ b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, _ c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        switch self {
        case .openBLAS:
            sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a, lda: lda, b, ldb: ldb, beta: beta, c, ldc: ldc)
        case .avx512:
            precondition(beta == 0 || beta == 1, "FP32Products.avx512: beta \(beta) is neither 0 nor 1")
            guard transB else {
                sgemmAVX512(transA: transA, m: m, n: n, k: k, alpha: alpha, a, lda: lda, b, ldb: ldb, accumulate: beta == 1, c, ldc: ldc)
                return
            }
            let bT = Tensor(uninitialized: [max(k * n, 1)])  // pooled
            for j in 0..<n { for p in 0..<k { bT.data[p * n + j] = b[j * ldb + p] } }
            sgemmAVX512(transA: transA, m: m, n: n, k: k, alpha: alpha, a, lda: lda, bT.data, ldb: n, accumulate: beta == 1, c, ldc: ldc)
        }
    }
}

/// `C (+)= alpha · op(A) · B` in fp32 with our AVX-512 micro-kernel: each output sums its k products in
/// order from zero with fused multiply-adds, then C = alpha·sum (+ C). B is `[k, n]` row-major (row
/// stride `ldb`); `op(A)` is `[m, k]`, read in place (`transA`: A is `[k, m]`).
///
/// Split across the `Threads` workers by rows (or columns when there are few rows) as `sgemm` is; each
/// output is computed by one worker in the same order either way. Its summation order differs from
/// OpenBLAS's, so fp32 runs never use it (`FP32Products`). Only where `CPUInfo.current.avx512f`.
public func sgemmAVX512(
    transA: Bool, m: Int, n: Int, k: Int, alpha: Float = 1, _ a: UnsafePointer<Float>, lda: Int,
    _ b: UnsafePointer<Float>, ldb: Int, accumulate: Bool, _ c: UnsafeMutablePointer<Float>, ldc: Int
) {
    precondition(CPUInfo.current.avx512f, "sgemmAVX512 needs AVX-512F")
    if m == 0 || n == 0 { return }
    let nr = Int(CK_BF16_NR), mr = Int(CK_F32_MR)
    let aRow = transA ? 1 : lda, aCol = transA ? lda : 1
    let box = UncheckedBox((a: a, b: b, c: c))
    func tile(_ i: Int, _ r: Int, _ j: Int, _ valid: Int) {
        let (a, b, c) = box.value
        ck_f32_tile_avx512(Int32(r), k, a + i * aRow, aRow, aCol, b + j, ldb, c + i * ldc + j, ldc, Int32(valid), alpha, accumulate ? 1 : 0)
    }
    func block(rows: Range<Int>, columns: Range<Int>) {
        if k <= 32 {
            // A short k (a LoRA rank): the time goes into reading and writing C, so sweep C row tile by
            // row tile along its rows; all of B (k rows) stays in cache.
            var i = rows.lowerBound
            while i < rows.upperBound {
                let r = min(mr, rows.upperBound - i)
                for j in stride(from: columns.lowerBound, to: columns.upperBound, by: nr) { tile(i, r, j, min(nr, columns.upperBound - j)) }
                i += r
            }
            return
        }
        // Column panels outermost: one panel of B (k × 32) stays in cache across the row tiles.
        for j in stride(from: columns.lowerBound, to: columns.upperBound, by: nr) {
            var i = rows.lowerBound
            while i < rows.upperBound {
                let r = min(mr, rows.upperBound - i)
                tile(i, r, j, min(nr, columns.upperBound - j))
                i += r
            }
        }
    }
    let workers = Threads.workersForGEMM(m: m, n: n, k: k)
    if workers <= 1 {
        block(rows: 0..<m, columns: 0..<n)
    } else if m >= workers * mr * 2 {
        Threads.splitAcrossWorkers(m, workers: workers, granule: mr) { range in block(rows: range, columns: 0..<n) }
    } else {
        Threads.splitAcrossWorkers(n, workers: workers, granule: nr) { range in block(rows: 0..<m, columns: range) }
    }
}

/// `C (+)= alpha · A · Bᵀ` for a narrow C (a LoRA rank wide) in fp32 with our AVX-512 dot-product
/// micro-kernel: A `[m, k]` and B `[n, k]` are both read along k (row strides `lda`, `ldb`), so a
/// rank-8 output keeps the vector units as busy as a wide one. Each output sums its k products in 16
/// lanes (lane l takes p ≡ l mod 16, in order, with fused multiply-adds), then adds the lanes in a fixed
/// tree; C = alpha·sum (+ C, fused). Split across the `Threads` workers by rows of C; each output is
/// computed by one worker in the same order either way. Its summation order differs from OpenBLAS's,
/// so fp32 runs never use it. Only where `CPUInfo.current.avx512f`.
public func sgemmNarrowAVX512(
    m: Int, n: Int, k: Int, alpha: Float = 1, _ a: UnsafePointer<Float>, lda: Int,
    _ b: UnsafePointer<Float>, ldb: Int, accumulate: Bool, _ c: UnsafeMutablePointer<Float>, ldc: Int
) {
    precondition(CPUInfo.current.avx512f, "sgemmNarrowAVX512 needs AVX-512F")
    if m == 0 || n == 0 { return }
    let mr = Int(CK_DOT_MR), nr = 8
    let box = UncheckedBox((a: a, b: b, c: c))
    // Column groups outermost: the group's rows of B (8 × k) stay in cache across the row tiles.
    func block(rows: Range<Int>) {
        let (a, b, c) = box.value
        for j in stride(from: 0, to: n, by: nr) {
            let cols = Int32(min(nr, n - j))
            var i = rows.lowerBound
            while i < rows.upperBound {
                let r = min(mr, rows.upperBound - i)
                ck_f32_dots_avx512(Int32(r), cols, k, a + i * lda, lda, b + j * ldb, ldb, c + i * ldc + j, ldc, alpha, accumulate ? 1 : 0)
                i += r
            }
        }
    }
    let workers = Threads.workersForGEMM(m: m, n: n, k: k)
    if workers <= 1 || m < workers * mr * 4 {
        block(rows: 0..<m)
    } else {
        Threads.splitAcrossWorkers(m, workers: workers, granule: mr) { range in block(rows: range) }
    }
}

/// Rows of B per pass of `sgemmTallAVX512` (fixed: it is part of the summation order).
public let tallKBlock = 32

/// `C (+)= alpha · Aᵀ · B` for a C only a few LoRA ranks tall and a long k (the token count): A
/// `[k, m]`, B `[k, n]`, both row-major (row strides `lda`, `ldb`). The weight gradients `dBᵀ = Hrᵀ·dY`
/// and `dA = dHrᵀ·X̃`. Walks k in blocks of `tallKBlock` rows, each block across all of C, so B is read
/// row by row (a panel-by-panel walk down a long k jumps a whole row stride per float read, which the
/// hardware prefetchers do not follow and which collapses at power-of-two strides). Each output: per
/// block, its products summed in order from zero with FMAs, then C = alpha·blockSum + C (the first block
/// of a fresh C: alpha·blockSum). Split across the `Threads` workers by columns of C; the blocks do not
/// depend on the split. Only where `CPUInfo.current.avx512f`.
public func sgemmTallAVX512(
    m: Int, n: Int, k: Int, alpha: Float = 1, _ a: UnsafePointer<Float>, lda: Int,
    _ b: UnsafePointer<Float>, ldb: Int, accumulate: Bool, _ c: UnsafeMutablePointer<Float>, ldc: Int
) {
    precondition(CPUInfo.current.avx512f, "sgemmTallAVX512 needs AVX-512F")
    if m == 0 || n == 0 { return }
    if k == 0 {
        if !accumulate { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) } }
        return
    }
    let nr = Int(CK_BF16_NR), mr = Int(CK_F32_MR)
    let box = UncheckedBox((a: a, b: b, c: c))
    func block(columns: Range<Int>) {
        let (a, b, c) = box.value
        for p0 in stride(from: 0, to: k, by: tallKBlock) {
            let kb = min(tallKBlock, k - p0), add: Int32 = accumulate || p0 > 0 ? 1 : 0
            for j in stride(from: columns.lowerBound, to: columns.upperBound, by: nr) {
                let valid = Int32(min(nr, columns.upperBound - j))
                var i = 0
                while i < m {
                    let r = min(mr, m - i)
                    ck_f32_tile_avx512(Int32(r), kb, a + p0 * lda + i, 1, lda, b + p0 * ldb + j, ldb, c + i * ldc + j, ldc, valid, alpha, add)
                    i += r
                }
            }
        }
    }
    let workers = Threads.workersForGEMM(m: m, n: n, k: k)
    if workers <= 1 {
        block(columns: 0..<n)
    } else {
        Threads.splitAcrossWorkers(n, workers: workers, granule: nr) { range in block(columns: range) }
    }
}
