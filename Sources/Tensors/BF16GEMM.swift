import CKernels

/// How a bf16 product sums. Both multiply bf16 operands exactly in fp32, round every fp32 addition to
/// nearest even and read and write denormals as zero; they differ in the order of the additions, so
/// their results differ in the last bits (docs/precision.md, "bf16 kernels").
public enum BF16Arithmetic: String, Sendable {
    /// VDPBF16PS: one running sum per output; for each pair of k in order, the odd element's product
    /// is added, then the even element's.
    case pairwise
    /// TDPBF16PS: k in groups of 16 pairs; in each group the even elements' products are summed in one
    /// chain and the odd elements' in another (both from zero, in k order), then the running sum adds
    /// (even + odd).
    case tiled
}

/// Which bf16 micro-kernel runs. Each fast kernel has a portable twin with the same arithmetic that
/// runs on any CPU (the tests' reference).
public enum BF16Kernel: String, Sendable, CaseIterable {
    /// TDPBF16PS on AMX tiles (Intel Sapphire Rapids and later).
    case amx
    /// VDPBF16PS on AVX-512 registers (AMD Zen 4/5, Intel Cooper Lake and later).
    case avx512bf16
    /// Swift, `pairwise` arithmetic.
    case portable
    /// Swift, `tiled` arithmetic.
    case portableAMX = "portable-amx"

    public var arithmetic: BF16Arithmetic {
        switch self {
        case .amx, .portableAMX: .tiled
        case .avx512bf16, .portable: .pairwise
        }
    }

    /// Whether this process can run the kernel (AMX also needs the OS to grant the tile state).
    public var isAvailable: Bool {
        switch self {
        case .amx: BF16Kernel.amxEnabled
        case .avx512bf16: CPUInfo.current.avx512bf16
        case .portable, .portableAMX: true
        }
    }

    /// The kernels `best` chooses from (`portableAMX` is only the tests' reference).
    public static let choices: [BF16Kernel] = [.amx, .avx512bf16, .portable]

    /// The fastest kernel this process can run. Fixed for the process: a run's bf16 products always
    /// use the same arithmetic (the trainer records it and a resume refuses a change).
    public static let best: BF16Kernel = amxEnabled ? .amx : CPUInfo.current.avx512bf16 ? .avx512bf16 : .portable

    /// AMX-BF16 on the CPU and the tile state granted by the OS (asked once, before any tile is used);
    /// the AMX path also packs and transposes with AVX-512, which every AMX CPU has unless the OS hides it.
    static let amxEnabled: Bool = CPUInfo.current.amxBF16 && CPUInfo.current.avx512f && ck_amx_enable() == 1
}

/// `C (+)= bf16(A) · B` with fp32 accumulation: A `[m, B.k]` fp32 (row stride `lda`) is rounded to bf16
/// and packed per call; B is a pre-packed frozen matrix. `accumulate` adds into C (the running sum starts
/// from C), otherwise C is overwritten.
///
/// The sums follow `kernel.arithmetic` (`BF16Arithmetic`), bit for bit whichever kernel of that
/// arithmetic runs. Work is split across the `Threads` workers by 32-column panels (or by rows when
/// there are few panels); each output is computed by one worker in the same order either way, so the
/// result does not depend on the thread count.
public func bf16gemm(
    m: Int, _ a: UnsafePointer<Float>, lda: Int, _ b: BF16Panels,
    accumulate: Bool, _ c: UnsafeMutablePointer<Float>, ldc: Int, kernel: BF16Kernel = .best
) {
    if m == 0 || b.n == 0 { return }
    if b.k == 0 {
        if !accumulate { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: b.n) } }
        return
    }
    precondition(kernel.isAvailable, "bf16gemm: the \(kernel.rawValue) kernel cannot run on this CPU")
    if kernel == .amx {
        amxGEMM(m: m, a, lda: lda, k: b.k, n: b.n, .panels(b), accumulate: accumulate, c, ldc: ldc)
        return
    }
    let kPairs = b.kPairs
    let packedA = Tensor(uninitialized: [m * kPairs])  // pooled; 4-byte words reinterpreted as bf16 pairs
    let ap = UnsafeMutableRawPointer(packedA.data).assumingMemoryBound(to: UInt32.self)
    packBF16Rows(m: m, k: b.k, a, lda: lda, into: ap)

    let workers = Threads.workersForGEMM(m: m, n: b.n, k: b.k)
    let box = UncheckedBox((a: UnsafePointer(ap), c: c))
    splitGEMM(m: m, panels: b.panels, workers: workers, rowMultiple: Int(CK_BF16_MR)) { rows, panels in
        bf16Block(rows: rows, panels: panels, box.value.a, kPairs: kPairs, b, box.value.c, ldc: ldc, accumulate: accumulate, kernel: kernel)
    }
    withExtendedLifetime(packedA) {}
}

/// `C (+)= bf16(dY) · W` for a frozen `W [out, in]` given by its forward panels (`x · Wᵀ`): dY `[m, out]`
/// (row stride `lda`), C `[m, in]`. The AMX kernel builds the `dY · W` panels block by block from the
/// forward panels as it goes (bit for bit `BF16Panels.repackBackward`'s words), so no backward copy of
/// the weight is ever stored. AMX only; other kernels read the rebuilt panels (`BF16Weight.withBackward`).
public func bf16gemmFromForward(
    m: Int, _ dy: UnsafePointer<Float>, lda: Int, _ forward: BF16Panels,
    accumulate: Bool, _ c: UnsafeMutablePointer<Float>, ldc: Int
) {
    let out = forward.n, inF = forward.k
    if m == 0 || inF == 0 { return }
    if out == 0 {
        if !accumulate { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: inF) } }
        return
    }
    precondition(BF16Kernel.amx.isAvailable, "bf16gemmFromForward: the amx kernel cannot run on this CPU")
    amxGEMM(m: m, dy, lda: lda, k: out, n: inF, .forwardPanels(forward), accumulate: accumulate, c, ldc: ldc)
}

/// Where the AMX kernel reads B: packed panels, or the forward panels of W for `dY · W`.
private enum AMXOperand {
    case panels(BF16Panels)
    case forwardPanels(BF16Panels)
}

/// The AMX driver: A rounded and packed in the tile layout (`ck_bf16_pack_tiles`, split across the
/// workers by tiles), then each worker runs its share of panels (or rows) in one C call, which blocks
/// for the caches itself (Sources/CKernels/bf16_amx.c).
private func amxGEMM(
    m: Int, _ a: UnsafePointer<Float>, lda: Int, k: Int, n: Int, _ b: AMXOperand,
    accumulate: Bool, _ c: UnsafeMutablePointer<Float>, ldc: Int
) {
    let kPairs = (k + 1) / 2, groups = (kPairs + 15) / 16, tiles = (m + 15) / 16, tileWords = 16 * 16
    let nr = BF16Panels.columnsPerPanel, panels = (n + nr - 1) / nr
    let packedA = Tensor(uninitialized: [tiles * groups * tileWords])  // pooled; 4-byte words = bf16 pairs
    let ap = UnsafeMutableRawPointer(packedA.data).assumingMemoryBound(to: UInt32.self)
    packBF16Tiles(m: m, k: k, a, lda: lda, into: ap)
    let box = UncheckedBox((ap: ap, c: c, b: b))
    let workers = Threads.workersForGEMM(m: m, n: n, k: k)
    splitGEMM(m: m, panels: panels, workers: workers, rowMultiple: 32) { rows, share in
        let (ap, c, b) = box.value
        let ai = UnsafePointer(ap + (rows.lowerBound / 16) * groups * tileWords)
        let ci = c + rows.lowerBound * ldc + share.lowerBound * nr
        let valid = min(n, share.upperBound * nr) - share.lowerBound * nr
        switch b {
        case .panels(let w):
            ck_bf16_gemm_amx(rows.count, kPairs, ai, w.words + share.lowerBound * kPairs * nr, share.count, valid, ci, ldc, accumulate ? 1 : 0)
        case .forwardPanels(let f):
            ck_bf16_gemm_amx_from_forward(rows.count, kPairs, ai, f.words, f.kPairs, share.lowerBound, share.count, valid, ci, ldc, accumulate ? 1 : 0)
        }
    }
    withExtendedLifetime(packedA) {}
}

/// Runs `body(rows, panels)` on each worker's share: by panels when there are at least two per worker,
/// else by rows (shares start at multiples of `rowMultiple`).
private func splitGEMM(m: Int, panels: Int, workers: Int, rowMultiple: Int, _ body: (Range<Int>, Range<Int>) -> Void) {
    if workers <= 1 {
        body(0..<m, 0..<panels)
    } else if panels >= 2 * workers {
        let per = (panels + workers - 1) / workers
        Threads.parallelWorkers { w in
            let lo = min(panels, w * per), hi = min(panels, lo + per)
            if lo < hi { body(0..<m, lo..<hi) }
        }
    } else {
        let per = ((m + workers - 1) / workers + rowMultiple - 1) / rowMultiple * rowMultiple
        Threads.parallelWorkers { w in
            let lo = min(m, w * per), hi = min(m, lo + per)
            if lo < hi { body(lo..<hi, 0..<panels) }
        }
    }
}

/// Rounds rows of fp32 activations to bf16 pairs (`(k + 1) / 2` words per row, the odd tail paired with 0):
/// with AVX-512 where the CPU has it, else `packBF16RowsScalar`; both give the same bits.
func packBF16Rows(m: Int, k: Int, _ a: UnsafePointer<Float>, lda: Int, into dst: UnsafeMutablePointer<UInt32>) {
    let kPairs = (k + 1) / 2, vector = CPUInfo.current.avx512f
    let box = UncheckedBox((a: a, dst: dst))
    parallelChunks(m, minimumPerChunk: max(1, 16384 / max(k, 1))) { rows in
        let src = box.value.a + rows.lowerBound * lda, out = box.value.dst + rows.lowerBound * kPairs
        if vector { ck_bf16_pack_rows(rows.count, k, src, lda, out) } else { packBF16RowsScalar(m: rows.count, k: k, src, lda: lda, into: out) }
    }
}

/// Rounds rows of fp32 activations to bf16 pairs in the AMX kernel's A layout (`ck_bf16_pack_tiles`:
/// 16-row × 16-pair tiles of 1 KiB, zero-padded), split across the workers by tiles. AMX CPUs have AVX-512.
func packBF16Tiles(m: Int, k: Int, _ a: UnsafePointer<Float>, lda: Int, into dst: UnsafeMutablePointer<UInt32>) {
    let box = UncheckedBox((a: a, dst: dst))
    parallelChunks((m + 15) / 16, minimumPerChunk: max(1, 16384 / (16 * k))) { tiles in
        ck_bf16_pack_tiles(m, k, box.value.a, lda, tiles.lowerBound, tiles.upperBound, box.value.dst)
    }
}

/// The scalar definition of `packBF16Rows` (`floatToBF16` per element).
func packBF16RowsScalar(m: Int, k: Int, _ a: UnsafePointer<Float>, lda: Int, into dst: UnsafeMutablePointer<UInt32>) {
    let kPairs = (k + 1) / 2
    for i in 0..<m {
        let src = a + i * lda, out = dst + i * kPairs
        for p in 0..<(k / 2) { out[p] = bf16Pair(src[2 * p], src[2 * p + 1]) }
        if k % 2 == 1 { out[kPairs - 1] = bf16Pair(src[k - 1], 0) }
    }
}

/// One worker's share (every kernel but amx): k in blocks that keep a 32-column panel block in L1,
/// panels, then row tiles. The block length is a whole number of 16-pair groups, so blocking never
/// moves a `tiled` group.
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
                let add = accumulate || kb > 0
                switch kernel {
                case .amx:
                    preconditionFailure("bf16Block: the amx kernel has its own driver")
                case .avx512bf16:
                    ck_bf16_tile_avx512(Int32(r), pairs, ai, kPairs, bp, ci, ldc, Int32(valid), add ? 1 : 0)
                case .portable:
                    bf16TilePortable(rows: r, pairs: pairs, ai, lda: kPairs, bp, ci, ldc: ldc, valid: valid, accumulate: add)
                case .portableAMX:
                    bf16TilePortableTiled(rows: r, pairs: pairs, ai, lda: kPairs, bp, ci, ldc: ldc, valid: valid, accumulate: add)
                }
                i += r
            }
        }
    }
}

/// The portable `pairwise` micro-kernel: VDPBF16PS's arithmetic written out.
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

/// The portable `tiled` micro-kernel: TDPBF16PS's arithmetic written out. `pairs` starts at a group
/// boundary (the driver's k blocks are whole groups).
func bf16TilePortableTiled(
    rows: Int, pairs: Int, _ a: UnsafePointer<UInt32>, lda: Int, _ b: UnsafePointer<UInt32>,
    _ c: UnsafeMutablePointer<Float>, ldc: Int, valid: Int, accumulate: Bool
) {
    let nr = BF16Panels.columnsPerPanel, group = 16
    for r in 0..<rows {
        for j in 0..<valid {
            var acc: Float = accumulate ? flushDenormal(c[r * ldc + j]) : 0
            for g in stride(from: 0, to: pairs, by: group) {
                var even: Float = 0, odd: Float = 0
                for p in g..<min(g + group, pairs) {
                    let x = a[r * lda + p], w = b[p * nr + j]
                    even = flushDenormal(even.addingProduct(bf16Low(x), bf16Low(w)))
                    odd = flushDenormal(odd.addingProduct(bf16High(x), bf16High(w)))
                }
                acc = flushDenormal(acc + flushDenormal(even + odd))
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
