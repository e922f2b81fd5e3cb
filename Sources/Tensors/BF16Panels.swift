/// A frozen matrix converted to bf16 once and packed into the bf16 micro-kernel's layout for one
/// product `X · B` (B `[k, n]`): panels of 32 columns; inside a panel, for each pair of rows of B
/// (k = 2p, 2p+1), the 32 columns' pairs as 32-bit words (low half: row 2p, high half: row 2p+1) —
/// exactly the operand VDPBF16PS multiplies a broadcast activation pair with. k is padded to even and
/// n to whole panels with zeros.
///
/// A linear layer's weight `W [out, in]` is used by two products: forward `x·Wᵀ` (B = Wᵀ, k = in) and
/// backward `dY·W` (B = W, k = out); `FrozenWeight.packBF16()` builds both.
public final class BF16Panels: @unchecked Sendable {
    public static let columnsPerPanel = 32
    /// Reduction length before padding.
    public let k: Int
    /// Output columns before padding.
    public let n: Int
    public let kPairs: Int
    public let panels: Int
    let words: UnsafeMutablePointer<UInt32>

    init(k: Int, n: Int) {
        self.k = k
        self.n = n
        kPairs = (k + 1) / 2
        panels = (n + Self.columnsPerPanel - 1) / Self.columnsPerPanel
        let count = max(1, panels * kPairs * Self.columnsPerPanel)
        words = .allocate(capacity: count)
        words.initialize(repeating: 0, count: count)
    }

    deinit { words.deallocate() }

    public var byteCount: Int { panels * kPairs * Self.columnsPerPanel * 4 }

    /// The word for row pair `p`, column `j`.
    @inline(__always) func index(pair p: Int, column j: Int) -> Int {
        ((j / Self.columnsPerPanel) * kPairs + p) * Self.columnsPerPanel + j % Self.columnsPerPanel
    }

    /// Panels for `x · Wᵀ`: B = Wᵀ, so column j of B is row j of W.
    public static func forward(_ w: FrozenWeight) -> BF16Panels {
        let packed = BF16Panels(k: w.columns, n: w.rows)
        let row = Tensor(zeros: [packed.kPairs * 2])
        for j in 0..<w.rows {
            w.copyRow(j, to: row.data)
            for p in 0..<packed.kPairs {
                packed.words[packed.index(pair: p, column: j)] = bf16Pair(row.data[2 * p], row.data[2 * p + 1])
            }
        }
        return packed
    }

    /// Panels for `dY · W`: B = W, so row pair p is rows 2p and 2p+1 of W.
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
}

/// Two floats rounded to bf16 (nearest even) in one 32-bit word: `lo` in the low half.
@inline(__always)
func bf16Pair(_ lo: Float, _ hi: Float) -> UInt32 {
    UInt32(floatToBF16(lo)) | UInt32(floatToBF16(hi)) &<< 16
}

/// Both bf16 forms of a frozen weight (for the two products of a linear layer).
public final class BF16Weight: @unchecked Sendable {
    public let forward: BF16Panels
    public let backward: BF16Panels
    public init(_ w: FrozenWeight) {
        forward = .forward(w)
        backward = .backward(w)
    }
    public var byteCount: Int { forward.byteCount + backward.byteCount }
}
