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

    /// AMX-BF16 on the CPU and the tile state granted by the OS (asked once, before any tile is used).
    static let amxEnabled: Bool = CPUInfo.current.amxBF16 && ck_amx_enable() == 1

    /// Rows per micro-tile.
    var rowsPerTile: Int { self == .amx ? 32 : Int(CK_BF16_MR) }
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
    let kPairs = b.kPairs
    precondition(kernel.isAvailable, "bf16gemm: the \(kernel.rawValue) kernel cannot run on this CPU")
    let mr = kernel.rowsPerTile
    // The AMX kernel reads A in whole 16-row slices: rows up to the next tile stay inside the buffer (zeros).
    let paddedRows = kernel == .amx ? (m + mr - 1) / mr * mr : m
    let packedA = Tensor(uninitialized: [paddedRows * kPairs])  // pooled; 4-byte words reinterpreted as bf16 pairs
    let ap = UnsafeMutableRawPointer(packedA.data).assumingMemoryBound(to: UInt32.self)
    packBF16Rows(m: m, k: b.k, a, lda: lda, into: ap)
    (ap + m * kPairs).update(repeating: 0, count: (paddedRows - m) * kPairs)

    let workers = Threads.workersForGEMM(m: m, n: b.n, k: b.k)
    let box = UncheckedBox((a: UnsafePointer(ap), c: c))
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

/// One worker's share: k in blocks that keep a 32-column panel block in L1, panels, then row tiles.
/// The block length is a whole number of 16-pair groups, so blocking never moves a `tiled` group.
private func bf16Block(
    rows: Range<Int>, panels: Range<Int>, _ a: UnsafePointer<UInt32>, kPairs: Int, _ b: BF16Panels,
    _ c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool, kernel: BF16Kernel
) {
    let kc = 256, nr = BF16Panels.columnsPerPanel, mr = kernel.rowsPerTile
    if kernel == .amx { ck_amx_begin() }
    defer { if kernel == .amx { ck_amx_end() } }
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
                    ck_bf16_tile_amx(Int32(r), pairs, ai, kPairs, bp, ci, ldc, Int32(valid), add ? 1 : 0)
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
