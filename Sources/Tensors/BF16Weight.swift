import Foundation

/// A frozen weight in the bf16 kernel's form: its forward panels (`x·Wᵀ`), the one resident bf16 copy.
/// The backward product (`dY·W`) needs panels paired along the other axis: the AMX kernel builds them
/// block by block from the forward panels inside the GEMM (`bf16gemmFromForward`); the other kernels
/// read a view whose words are rebuilt from the forward panels in a buffer shared by every weight
/// (`BF16BackwardScratch`) when that product runs.
///
/// Why not keep both layouts: the products reduce over different axes and VDPBF16PS pairs adjacent
/// k, so one layout cannot feed both; a second resident copy would double the packed memory (16 GB
/// more for an 8B model). Rebuilding costs one pass over the weight per backward product (a 2×2 transpose
/// of bf16 halves, memory-bound) against a GEMM of `m` rows over the same weight; docs/precision.md
/// gives the measured share.
public final class BF16Weight: @unchecked Sendable {
    public let forward: BF16Panels
    /// k = out, n = in; its words belong to the scratch (valid only inside `withBackward`).
    private let backward: BF16Panels

    public init(_ w: FrozenWeight) {
        forward = .forward(w)
        backward = BF16Panels(k: w.rows, n: w.columns, borrowing: forward.words)
        // Reserved when packing, so a step never allocates it; the AMX kernel never uses it.
        if BF16Kernel.best != .amx { BF16BackwardScratch.shared.reserve(words: backward.wordCount) }
    }

    /// `dx (+)= dY · W`: dY `[m, out]` (row stride `lda`), dx `[m, in]` (row stride `ldc`).
    public func backwardProduct(
        m: Int, _ dy: UnsafePointer<Float>, lda: Int, accumulate: Bool, _ dx: UnsafeMutablePointer<Float>, ldc: Int,
        kernel: BF16Kernel = .best
    ) {
        if kernel == .amx {
            bf16gemmFromForward(m: m, dy, lda: lda, forward, accumulate: accumulate, dx, ldc: ldc)
        } else {
            withBackward { bf16gemm(m: m, dy, lda: lda, $0, accumulate: accumulate, dx, ldc: ldc, kernel: kernel) }
        }
    }

    /// Resident bytes (the forward panels; the shared scratch is counted once, in `BF16BackwardScratch`).
    public var byteCount: Int { forward.byteCount }

    /// Runs `body` with the backward panels (`dY · W`), filled from the forward panels unless the
    /// scratch already holds them (consecutive products with one weight, e.g. the LM head's chunks).
    /// Holds the scratch for the call: another weight's backward product waits.
    public func withBackward<R>(_ body: (BF16Panels) throws -> R) rethrows -> R {
        try BF16BackwardScratch.shared.with(backward, filledFrom: forward, body)
    }
}

/// The one buffer that backward panels are rebuilt into, sized for the largest packed weight.
/// Allocated once (when weights are packed), never per step; its pages are only touched by use.
public final class BF16BackwardScratch: @unchecked Sendable {
    public static let shared = BF16BackwardScratch()

    private let lock = NSLock()
    private var words: UnsafeMutablePointer<UInt32>?
    private var capacity = 0
    /// The view whose panels the buffer holds now.
    private weak var holder: BF16Panels?

    /// Bytes reserved (0 before any weight was packed).
    public var byteCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return capacity * 4
    }

    /// Makes room for `count` words (a weight being packed; before any step runs).
    func reserve(words count: Int) {
        lock.lock()
        defer { lock.unlock() }
        guard count > capacity else { return }
        words?.deallocate()
        words = .allocate(capacity: count)
        capacity = count
        holder = nil
    }

    func with<R>(_ view: BF16Panels, filledFrom forward: BF16Panels, _ body: (BF16Panels) throws -> R) rethrows -> R {
        if view.wordCount > byteCount / 4 { reserve(words: view.wordCount) }  // not reserved when packing (AMX runs)
        lock.lock()
        defer { lock.unlock() }
        precondition(view.wordCount <= capacity, "BF16BackwardScratch: \(view.wordCount) words needed, \(capacity) reserved")
        view.words = words!
        if holder !== view {
            WorkProfile.measure(.bf16Repack) { view.repackBackward(from: forward) }
            holder = view
        }
        return try body(view)
    }
}
