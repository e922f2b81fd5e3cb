/// A frozen matrix converted to bf16 once and packed into the bf16 micro-kernel's layout for one
/// product `X · B` (B `[k, n]`): panels of 32 columns; inside a panel, for each pair of rows of B
/// (k = 2p, 2p+1), the 32 columns' pairs as 32-bit words (low half: row 2p, high half: row 2p+1) —
/// exactly the operand VDPBF16PS multiplies a broadcast activation pair with. k is padded to even and
/// n to whole panels with zeros.
///
/// A linear layer's weight `W [out, in]` is used by two products: forward `x·Wᵀ` (B = Wᵀ, k = in) and
/// backward `dY·W` (B = W, k = out). Only the forward panels stay resident (`BF16Weight`); the
/// backward panels are rebuilt from them by a 2×2 transpose of bf16 halves when the backward product
/// runs (`repackBackward(from:)`, bit for bit the panels `backward(_:)` packs from W) — or, with AMX,
/// block by block inside the GEMM (`bf16gemmFromForward`).
public final class BF16Panels: @unchecked Sendable {
    public static let columnsPerPanel = 32
    /// Reduction length before padding.
    public let k: Int
    /// Output columns before padding.
    public let n: Int
    public let kPairs: Int
    public let panels: Int
    /// The panel words. Owned, or (a backward view) borrowed from `BF16BackwardScratch`, which points
    /// it at its buffer each time it fills the view.
    var words: UnsafeMutablePointer<UInt32>
    private let ownsWords: Bool

    init(k: Int, n: Int) {
        self.k = k
        self.n = n
        kPairs = (k + 1) / 2
        panels = (n + Self.columnsPerPanel - 1) / Self.columnsPerPanel
        let count = max(1, panels * kPairs * Self.columnsPerPanel)
        words = .allocate(capacity: count)
        words.initialize(repeating: 0, count: count)
        ownsWords = true
    }

    /// Panels whose words live in a buffer someone else owns (set `words` before use).
    init(k: Int, n: Int, borrowing words: UnsafeMutablePointer<UInt32>) {
        self.k = k
        self.n = n
        kPairs = (k + 1) / 2
        panels = (n + Self.columnsPerPanel - 1) / Self.columnsPerPanel
        self.words = words
        ownsWords = false
    }

    deinit { if ownsWords { words.deallocate() } }

    /// Words of the panels, padding included.
    public var wordCount: Int { panels * kPairs * Self.columnsPerPanel }
    public var byteCount: Int { wordCount * 4 }

    /// The word for row pair `p`, column `j`.
    @inline(__always) func index(pair p: Int, column j: Int) -> Int {
        ((j / Self.columnsPerPanel) * kPairs + p) * Self.columnsPerPanel + j % Self.columnsPerPanel
    }

    /// Panels for `x · Wᵀ`: B = Wᵀ, so column j of B is row j of W. Rows are converted in parallel
    /// (each panel is written by one worker).
    public static func forward(_ w: FrozenWeight) -> BF16Panels {
        let packed = BF16Panels(k: w.columns, n: w.rows)
        let kPairs = packed.kPairs, nr = columnsPerPanel
        let out = SendablePointer(packed.words)
        parallelChunks(packed.panels, minimumPerChunk: max(1, 65536 / max(1, nr * kPairs))) { panels in
            let row = Tensor(zeros: [kPairs * 2])  // an odd last column pairs with this 0
            for j in (panels.lowerBound * nr)..<min(w.rows, panels.upperBound * nr) {
                w.copyRow(j, to: row.data)
                let column = out.pointer + (j / nr) * kPairs * nr + j % nr
                for p in 0..<kPairs { column[p * nr] = bf16Pair(row.data[2 * p], row.data[2 * p + 1]) }
            }
        }
        return packed
    }

    /// Panels for `dY · W`: B = W, so row pair p is rows 2p and 2p+1 of W. (Training rebuilds these
    /// from the forward panels instead: `repackBackward(from:)`; this is the definition it is tested against.)
    public static func backward(_ w: FrozenWeight) -> BF16Panels {
        let packed = BF16Panels(k: w.rows, n: w.columns)
        let even = Tensor(uninitialized: [w.columns]), odd = Tensor(uninitialized: [w.columns])
        for p in 0..<packed.kPairs {
            w.copyRow(2 * p, to: even.data)
            if 2 * p + 1 < w.rows { w.copyRow(2 * p + 1, to: odd.data) } else { odd.data.update(repeating: 0, count: w.columns) }
            for j in 0..<w.columns {
                packed.words[packed.index(pair: p, column: j)] = bf16Pair(even.data[j], odd.data[j])
            }
        }
        return packed
    }

    /// Row `r` of W (`n` of the forward panels' columns) as fp32 into `dst` (`k` floats): the bf16
    /// values widened, exactly.
    func copyForwardRow(_ r: Int, to dst: UnsafeMutablePointer<Float>) {
        let nr = Self.columnsPerPanel
        let column = UnsafePointer(words) + (r / nr) * kPairs * nr + r % nr
        for p in 0..<(k / 2) {
            let word = column[p * nr]
            dst[2 * p] = Float(bitPattern: word &<< 16)
            dst[2 * p + 1] = Float(bitPattern: word & 0xFFFF_0000)
        }
        if k % 2 == 1 { dst[k - 1] = Float(bitPattern: column[(kPairs - 1) * nr] &<< 16) }
    }

    /// Fills these panels (`dY · W`: k = out, n = in) from `forward` (`x · Wᵀ`: k = in, n = out of the
    /// same W), word for word what `backward(W)` packs, padding included.
    ///
    /// Forward panel F holds rows 32F…32F+31 of W; its pair block q ∈ [16P, 16P+16) is 16 × 32 words
    /// (2 KiB, contiguous), and it is exactly what backward panel P needs for its pairs p ∈ [16F, 16F+16)
    /// (also 2 KiB, contiguous). Within a block, forward word (q, c) holds W[c][2q] (low) and W[c][2q+1]
    /// (high); backward word (p, 2q+h) is half h of forward words (q, 2p) (low) and (q, 2p+1) (high). Read
    /// as 64-bit elements (two words), the block is a 16 × 16 transpose — backward element (p, q) is
    /// forward element (q, p) — with the middle two bf16 halves of each element swapped.
    /// Split across the workers by backward panels (each written by one worker).
    func repackBackward(from forward: BF16Panels) {
        precondition(k == forward.n && n == forward.k, "repackBackward: [\(k), \(n)] panels from [\(forward.k), \(forward.n)]")
        let nr = Self.columnsPerPanel, half = nr / 2
        let kPairs = kPairs, forwardPairs = forward.kPairs, forwardPanels = forward.panels
        let box = UncheckedBox((src: UnsafeRawPointer(forward.words), dst: UnsafeMutableRawPointer(words)))
        parallelChunks(panels, minimumPerChunk: max(1, 32768 / max(1, nr * kPairs))) { range in
            let (src, dst) = box.value
            for panel in range {
                let out = dst + panel * kPairs * nr * 4
                let qs = min(half, max(0, forwardPairs - panel * half))  // forward pairs behind this panel
                for f in 0..<forwardPanels {
                    let ps = min(half, kPairs - f * half)  // backward pairs from this forward panel
                    if ps <= 0 { break }
                    let block = src + (f * forwardPairs + panel * half) * nr * 4
                    for p in 0..<ps {
                        let row = out + (f * half + p) * nr * 4
                        for q in 0..<qs {
                            let x = block.load(fromByteOffset: (q * half + p) * 8, as: UInt64.self)
                            let swapped = (x & 0xFFFF_0000_0000_FFFF) | (x & 0x0000_0000_FFFF_0000) &<< 16 | (x & 0x0000_FFFF_0000_0000) &>> 16
                            row.storeBytes(of: swapped, toByteOffset: q * 8, as: UInt64.self)
                        }
                        if qs < half { (row + qs * 8).initializeMemory(as: UInt8.self, repeating: 0, count: (half - qs) * 8) }
                    }
                }
            }
        }
    }
}

/// Two floats rounded to bf16 (nearest even) in one 32-bit word: `lo` in the low half.
@inline(__always)
func bf16Pair(_ lo: Float, _ hi: Float) -> UInt32 {
    UInt32(floatToBF16(lo)) | UInt32(floatToBF16(hi)) &<< 16
}
