/// The processes of one data-parallel training job and the few collective operations it needs.
///
/// Every operation is collective: all ranks call it, in the same order, with the same sizes. Results
/// are identical on every rank bit for bit (sums add the ranks' values in rank order 0, 1, …, N−1
/// whatever the transport does), so ranks that start equal stay equal.
public protocol Communicator: AnyObject {
    /// This process's index, 0..<size; rank 0 is the only one that writes files.
    var rank: Int { get }
    /// Number of processes in the job (1 for a plain run).
    var size: Int { get }

    /// Element-wise sum over ranks of `count` floats at `buffer`, in place.
    func sum(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws
    /// Element-wise sum over ranks of `values`, in place (small vectors: counts, per-slot losses).
    func sum(_ values: inout [Double]) throws
    /// Every rank's bytes, indexed by rank.
    func gather(_ bytes: [UInt8]) throws -> [[UInt8]]
    /// Rank 0's `count` floats at `buffer` on every rank.
    func broadcast(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws
    /// Rank 0's bytes on every rank (the others' arguments are ignored).
    func broadcast(_ bytes: [UInt8]) throws -> [UInt8]
    /// What the collectives cost so far.
    var statistics: CommunicationStatistics { get }
    /// Stops every process of the job with `code` (after a failure only this rank knows about: the
    /// others would otherwise wait forever in their next collective).
    func abort(code: Int32) -> Never
    /// Ends the job cleanly on this rank (all ranks call it before exiting).
    func finish()
}

/// Totals since the communicator was made.
public struct CommunicationStatistics: Sendable, Equatable {
    /// Float elements passed to `sum(_:count:)`, times 4: the size of what was all-reduced.
    public var bytesReduced = 0
    /// Bytes this rank sent over the transport for those sums (2 (N−1)/N of the payload).
    public var bytesSent = 0
    /// Wall time spent inside collective operations (waiting for slower ranks included).
    public var seconds = 0.0
    public init() {}
}

extension Communicator {
    /// The first `count` items of `0..<total` dealt to ranks in contiguous blocks, rank order: rank r
    /// gets `total / size` items, plus one when r < `total % size`. Items past the block sizes of idle
    /// ranks are empty ranges, never reordered.
    public func share(of total: Int) -> Range<Int> { Deal.share(of: total, rank: rank, size: size) }
}

/// How the micro-batches of one optimizer step are split across ranks.
public enum Deal {
    /// Contiguous block of `0..<total` owned by `rank` of `size`: the first `total % size` ranks take
    /// one item more; with fewer items than ranks the last ranks take none (they still join the sums
    /// with zeros, which adds nothing: x + 0 = x exactly).
    public static func share(of total: Int, rank: Int, size: Int) -> Range<Int> {
        precondition(size > 0 && rank >= 0 && rank < size && total >= 0)
        let base = total / size, extra = total % size
        let start = rank * base + min(rank, extra)
        return start..<(start + base + (rank < extra ? 1 : 0))
    }
}
