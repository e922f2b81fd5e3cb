import CKernels

/// Which bf16 micro-kernel runs: VDPBF16PS (AVX512_BF16) or the portable one with the same arithmetic.
public enum BF16Kernel: String, Sendable {
    case avx512bf16, portable

    /// The fast kernel where the CPU has it.
    public static var best: BF16Kernel { CPUInfo.current.avx512bf16 ? .avx512bf16 : .portable }
}

/// `C (+)= bf16(A) · B` with fp32 accumulation: A `[m, B.k]` fp32 (row stride `lda`) is rounded to bf16
/// and packed per call; B is a pre-packed frozen matrix. `accumulate` adds into C (the running sum starts
/// from C), otherwise C is overwritten.
///
/// Arithmetic (both kernels, bit for bit): every output starts from 0 (or C), then for each pair of k,
/// in order, adds the odd element's product and then the even element's (VDPBF16PS's order); a bf16×bf16
/// product is exact in fp32, each addition rounds to nearest even; denormal inputs count as zero and
/// denormal sums are flushed to zero, as the instruction does. Work is split across the `Threads` workers
/// by 32-column panels (or by rows when there are few panels); each output is computed by one worker in
/// the same order either way, so the result does not depend on the thread count.
public func bf16gemm(
    m: Int, _ a: UnsafePointer<Float>, lda: Int, _ b: BF16Panels,
    accumulate: Bool, _ c: UnsafeMutablePointer<Float>, ldc: Int, kernel: BF16Kernel = .best
) {
    if m == 0 || b.n == 0 { return }
    if b.k == 0 {
        if !accumulate { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: b.n) } }
        return
    }
    let kPairs = b.kPairs
    let packedA = Tensor(uninitialized: [m * kPairs])  // pooled; 4-byte words reinterpreted as bf16 pairs
    let ap = UnsafeMutableRawPointer(packedA.data).assumingMemoryBound(to: UInt32.self)
    packBF16Rows(m: m, k: b.k, a, lda: lda, into: ap)

    let workers = Threads.workersForGEMM(m: m, n: b.n, k: b.k)
    let box = UncheckedBox((a: UnsafePointer(ap), c: c))
    let mr = Int(CK_BF16_MR)
    if workers <= 1 {
        bf16Block(rows: 0..<m, panels: 0..<b.panels, box.value.a, kPairs: kPairs, b, box.value.c, ldc: ldc, accumulate: accumulate, kernel: kernel)
    } else if b.panels >= 2 * workers {
        let per = (b.panels + workers - 1) / workers
        Threads.parallelWorkers { w in
            let lo = min(b.panels, w * per), hi = min(b.panels, lo + per)
            if lo < hi { bf16Block(rows: 0..<m, panels: lo..<hi, box.value.a, kPairs: kPairs, b, box.value.c, ldc: ldc, accumulate: accumulate, kernel: kernel) }
        }
    } else {
        let per = ((m + workers - 1) / workers + mr - 1) / mr * mr
        Threads.parallelWorkers { w in
            let lo = min(m, w * per), hi = min(m, lo + per)
            if lo < hi { bf16Block(rows: lo..<hi, panels: 0..<b.panels, box.value.a, kPairs: kPairs, b, box.value.c, ldc: ldc, accumulate: accumulate, kernel: kernel) }
        }
    }
    withExtendedLifetime(packedA) {}
}

/// Rounds rows of fp32 activations to bf16 pairs (`(k + 1) / 2` words per row, the odd tail paired with 0).
func packBF16Rows(m: Int, k: Int, _ a: UnsafePointer<Float>, lda: Int, into dst: UnsafeMutablePointer<UInt32>) {
    let kPairs = (k + 1) / 2
    let box = UncheckedBox((a: a, dst: dst))
    parallelChunks(m, minimumPerChunk: max(1, 16384 / max(k, 1))) { rows in
        for i in rows {
            let src = box.value.a + i * lda, out = box.value.dst + i * kPairs
            for p in 0..<(k / 2) { out[p] = bf16Pair(src[2 * p], src[2 * p + 1]) }
            if k % 2 == 1 { out[kPairs - 1] = bf16Pair(src[k - 1], 0) }
        }
    }
}

/// One worker's share: k in blocks that keep a 32-column panel block in L1, panels, then 8-row tiles.
private func bf16Block(
    rows: Range<Int>, panels: Range<Int>, _ a: UnsafePointer<UInt32>, kPairs: Int, _ b: BF16Panels,
    _ c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool, kernel: BF16Kernel
) {
    let kc = 256, nr = BF16Panels.columnsPerPanel, mr = Int(CK_BF16_MR)
    for kb in stride(from: 0, to: kPairs, by: kc) {
        let pairs = min(kc, kPairs - kb)
        for panel in panels {
            let bp = UnsafePointer(b.words + (panel * kPairs + kb) * nr)
            let valid = min(nr, b.n - panel * nr)
            var i = rows.lowerBound
            while i < rows.upperBound {
                let r = min(mr, rows.upperBound - i)
                let ai = a + i * kPairs + kb, ci = c + i * ldc + panel * nr
                switch kernel {
                case .avx512bf16:
                    ck_bf16_tile_avx512(Int32(r), pairs, ai, kPairs, bp, ci, ldc, Int32(valid), accumulate || kb > 0 ? 1 : 0)
                case .portable:
                    bf16TilePortable(rows: r, pairs: pairs, ai, lda: kPairs, bp, ci, ldc: ldc, valid: valid, accumulate: accumulate || kb > 0)
                }
                i += r
            }
        }
    }
}

/// The portable micro-kernel: VDPBF16PS's arithmetic written out (see `bf16gemm`).
func bf16TilePortable(
    rows: Int, pairs: Int, _ a: UnsafePointer<UInt32>, lda: Int, _ b: UnsafePointer<UInt32>,
    _ c: UnsafeMutablePointer<Float>, ldc: Int, valid: Int, accumulate: Bool
) {
    let nr = BF16Panels.columnsPerPanel
    for r in 0..<rows {
        for j in 0..<valid {
            var acc: Float = accumulate ? flushDenormal(c[r * ldc + j]) : 0
            for p in 0..<pairs {
                let x = a[r * lda + p], w = b[p * nr + j]
                acc = flushDenormal(acc.addingProduct(bf16High(x), bf16High(w)))
                acc = flushDenormal(acc.addingProduct(bf16Low(x), bf16Low(w)))
            }
            c[r * ldc + j] = acc
        }
    }
}

@inline(__always) private func bf16Low(_ pair: UInt32) -> Float { flushDenormal(Float(bitPattern: pair &<< 16)) }
@inline(__always) private func bf16High(_ pair: UInt32) -> Float { flushDenormal(Float(bitPattern: pair & 0xFFFF_0000)) }

/// ±0 for a denormal (exponent bits zero), the value itself otherwise.
@inline(__always) private func flushDenormal(_ f: Float) -> Float {
    f.bitPattern & 0x7F80_0000 == 0 ? Float(bitPattern: f.bitPattern & 0x8000_0000) : f
}
