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

    /// One round of an ordered sum of `count` floats: adds the buffers of ranks 0..<`contributors`,
    /// in rank order, to the running sum (restarted when `first`). Ranks from `contributors` on take
    /// part but add nothing. Each rank keeps the running sum of one block of the vector only.
    func accumulate(_ buffer: UnsafePointer<Float>, count: Int, contributors: Int, first: Bool) throws
    /// The running sum, whole, on every rank (ends an ordered sum).
    func collectSum(into buffer: UnsafeMutablePointer<Float>, count: Int) throws
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
    /// Bytes of the vectors put into ordered sums (each round counts once).
    public var bytesReduced = 0
    /// Bytes this rank sent over the transport for those sums: (N−1)/N of each round's vector, and
    /// (N−1)/N of the vector to collect the result.
    public var bytesSent = 0
    /// Wall time spent inside collective operations (waiting for slower ranks included).
    public var seconds = 0.0
    /// The part of `seconds` spent waiting for the slowest rank to reach a gradient exchange (a barrier
    /// before each round), as opposed to moving data.
    public var waitingSeconds = 0.0
    public init() {}
}

extension Communicator {
    /// The items of `0..<total` this rank handles (see `Deal`).
    public func share(of total: Int) -> StrideTo<Int> { Deal.share(of: total, rank: rank, size: size) }
}

/// How the micro-batches of an optimizer step (and the eval batches) are dealt to ranks.
public enum Deal {
    /// Round robin: item j goes to rank j mod size, so round i of an ordered sum holds items
    /// i·size ..< (i+1)·size, the next ones in the one-process order. When `total` is not a multiple of
    /// `size` the first `total % size` ranks take one item more and the others sit out the last round
    /// (they still take part in its exchange, adding nothing); with fewer items than ranks some ranks
    /// have no item at all.
    public static func share(of total: Int, rank: Int, size: Int) -> StrideTo<Int> {
        precondition(size > 0 && rank >= 0 && rank < size && total >= 0)
        return stride(from: rank, to: total, by: size)
    }

    /// Rounds needed for `total` items on `size` ranks, and how many ranks hold an item in `round`.
    public static func rounds(of total: Int, size: Int) -> Int { (total + size - 1) / size }
    public static func contributors(round: Int, of total: Int, size: Int) -> Int { max(0, min(size, total - round * size)) }
}
