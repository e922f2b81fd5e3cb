import CBLAS
import Dispatch
import Foundation

/// The one thread policy: OpenBLAS always runs single-threaded, and our own workers
/// (`concurrentPerform`) do all the parallel work: large GEMMs are split by rows or columns across
/// them (`sgemm`), element-wise loops are split into chunks (`parallelChunks`), attention runs its
/// (segment, head) units on them. Why not OpenBLAS's own threads: idle OpenBLAS workers spin and steal
/// the core from the element-wise work between GEMMs (see docs/architecture.md, "Threads").
///
/// This type only decides how many workers there are and when a GEMM is worth splitting.
public enum Threads {
    nonisolated(unsafe) private static var current = 0

    /// Workers for split GEMMs and element-wise loops. Defaults to the active processor count.
    public static var count: Int {
        if current == 0 { configure(nil) }
        return current
    }

    /// Sets the worker count (`nil` = all active processors) for split GEMMs and element-wise loops.
    /// Results are bit-identical for a fixed count; a different count may change GEMM summation order.
    public static func configure(_ n: Int?) {
        let value = max(1, n ?? ProcessInfo.processInfo.activeProcessorCount)
        current = value
        // OpenBLAS always runs single-threaded: `sgemm` splits large GEMMs across our own workers.
        openblas_set_num_threads(1)
    }

    /// True while `parallelWorkers` runs: GEMMs inside a worker stay single-threaded.
    nonisolated(unsafe) static var inParallelRegion = false

    /// How many workers a GEMM of this size uses: all of them above ~4 MFLOP (where the split pays
    /// for its ~1 µs dispatch), one inside a parallel region or below that.
    static func workersForGEMM(m: Int, n: Int, k: Int) -> Int {
        let n0 = count
        if n0 <= 1 || inParallelRegion || max(m, n) < 32 { return 1 }
        return 2 * m * n * k >= 4_000_000 ? min(n0, max(m, n) / 16) : 1
    }
}

extension Threads {
    /// Runs `body(worker)` on `count` workers; GEMMs inside run single-threaded in their worker
    /// (nesting parallel regions only adds dispatch cost). Results do not depend on scheduling as long
    /// as workers write disjoint memory.
    public static func parallelWorkers(_ body: (Int) -> Void) {
        let n = count
        if n <= 1 {
            body(0)
            return
        }
        inParallelRegion = true
        defer { inParallelRegion = false }
        withoutActuallyEscaping(body) { body in
            let box = UncheckedBox(body)
            DispatchQueue.concurrentPerform(iterations: n) { box.value($0) }
        }
    }
}

extension Threads {
    /// Cuts `0..<count` into `workers` contiguous ranges whose lengths are multiples of `granule` (the
    /// last takes the rest) and runs `body` on each non-empty one in parallel: how the fp32 kernels split
    /// the rows or columns of C. The cut does not depend on timing.
    public static func splitAcrossWorkers(_ count: Int, workers: Int, granule: Int, _ body: (Range<Int>) -> Void) {
        let per = ((count + workers - 1) / workers + granule - 1) / granule * granule
        parallelWorkers { w in
            let lo = min(count, w * per), hi = min(count, lo + per)
            if lo < hi { body(lo..<hi) }
        }
    }
}

/// A pointer that may cross into `concurrentPerform`'s `@Sendable` closure. The caller guarantees
/// that concurrent iterations touch disjoint elements.
public struct SendablePointer<T>: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<T>
    public init(_ pointer: UnsafeMutablePointer<T>) { self.pointer = pointer }
}

/// Runs `body` over `0..<count` split into contiguous chunks, in parallel when the work is large
/// enough to repay the ~1 µs dispatch cost. Chunks never overlap; the split does not depend on timing,
/// so results are deterministic as long as each element's computation is independent.
public func parallelChunks(_ count: Int, minimumPerChunk: Int = 16384, _ body: (Range<Int>) -> Void) {
    let threads = Threads.count
    if threads <= 1 || count < 2 * minimumPerChunk {
        body(0..<count)
        return
    }
    let chunks = min(threads, count / minimumPerChunk)
    let per = (count + chunks - 1) / chunks
    withoutActuallyEscaping(body) { body in
        let box = UncheckedBox(body)
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let lo = c * per, hi = min(count, lo + per)
            if lo < hi { box.value(lo..<hi) }
        }
    }
}

struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
