#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A job of N processes started by Open MPI's `mpirun`, talking through libmpi loaded at run time.
///
/// Sums never use MPI's own reductions (whose order of addition is the library's choice and may differ
/// between ranks): each rank owns one block of the vector, receives that block from every rank
/// (all-to-all), adds the copies in rank order onto its running sum, and the summed blocks are
/// gathered back to everyone (all-gather) at the end. One round and the gather move 2 (N−1)/N of the
/// vector per rank, as a ring all-reduce does, and every rank gets the same bits in an order that
/// does not depend on the transport.
public final class MPICommunicator: Communicator {
    public let rank: Int
    public let size: Int
    public private(set) var statistics = CommunicationStatistics()
    private let mpi: OpenMPILibrary
    /// Scratch for the all-to-all and all-gather (N blocks each; `outgoing` has one block more, the
    /// running sum), grown once to the largest vector summed.
    private var outgoing: UnsafeMutablePointer<Float>?
    private var incoming: UnsafeMutablePointer<Float>?
    private var capacity = 0
    private var finished = false

    init(library: OpenMPILibrary) throws(LaunchError) {
        mpi = library
        var provided: Int32 = 0
        // Funneled: only the main thread calls MPI; the compute workers never do.
        let funneled: Int32 = 1
        guard mpi.initThread(nil, nil, funneled, &provided) == 0 else { throw LaunchError("MPI_Init_thread failed") }
        var r: Int32 = 0, s: Int32 = 0
        _ = mpi.commRank(mpi.commWorld, &r)
        _ = mpi.commSize(mpi.commWorld, &s)
        rank = Int(r)
        size = Int(s)
    }

    deinit {
        outgoing?.deallocate()
        incoming?.deallocate()
    }

    private func timed<T>(_ what: String, waiting: Bool = false, _ body: () -> (Int32, T)) throws(LaunchError) -> T {
        var t0 = timespec(), t1 = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t0)
        let (code, result) = body()
        clock_gettime(CLOCK_MONOTONIC, &t1)
        let seconds = Double(t1.tv_sec - t0.tv_sec) + Double(t1.tv_nsec - t0.tv_nsec) * 1e-9
        statistics.seconds += seconds
        if waiting { statistics.waitingSeconds += seconds }
        guard code == 0 else { throw LaunchError("rank \(rank) of \(size): \(what) failed (MPI error \(code))") }
        return result
    }

    private func reserve(_ floats: Int) {
        guard floats > capacity else { return }
        outgoing?.deallocate()
        incoming?.deallocate()
        outgoing = .allocate(capacity: floats)
        incoming = .allocate(capacity: floats)
        capacity = floats
    }

    /// Splits `count` floats into `size` blocks (the last padded with zeros).
    private func blockSize(_ count: Int) throws(LaunchError) -> Int {
        let block = (count + size - 1) / size
        guard block <= Int(Int32.max) else { throw LaunchError("rank \(rank): a vector of \(count) floats is too long for one MPI call") }
        reserve(block * (size + 1))
        return block
    }

    public func accumulate(_ buffer: UnsafePointer<Float>, count: Int, contributors: Int, first: Bool) throws {
        let block = try blockSize(count)
        let send = outgoing!, recv = incoming!, running = outgoing! + block * size
        send.update(from: buffer, count: count)
        (send + count).update(repeating: 0, count: block * size - count)
        let n = Int32(block)
        // Separates waiting for the slowest rank from moving data in the statistics (costs one latency).
        try timed("MPI_Barrier", waiting: true) { (mpi.barrier(mpi.commWorld), ()) }
        try timed("MPI_Alltoall") { (mpi.alltoall(send, n, mpi.float, recv, n, mpi.float, mpi.commWorld), ()) }
        // recv holds this rank's block of every rank's buffer, in rank order: add them in that order.
        for r in 0..<contributors {
            let other = recv + r * block
            if first && r == 0 { running.update(from: other, count: block) } else { for i in 0..<block { running[i] += other[i] } }
        }
        statistics.bytesReduced += count * 4
        statistics.bytesSent += (size - 1) * block * 4
    }

    public func collectSum(into buffer: UnsafeMutablePointer<Float>, count: Int) throws {
        let block = try blockSize(count)
        let recv = incoming!, running = outgoing! + block * size
        try timed("MPI_Allgather") { (mpi.allgather(running, Int32(block), mpi.float, recv, Int32(block), mpi.float, mpi.commWorld), ()) }
        buffer.update(from: recv, count: count)
        statistics.bytesSent += (size - 1) * block * 4
    }

    public func sum(_ values: inout [Double]) throws {
        guard !values.isEmpty else { return }
        let all = try gatherDoubles(values)
        for i in values.indices {
            var s = all[i]
            for r in 1..<size { s += all[r * values.count + i] }
            values[i] = s
        }
    }

    private func gatherDoubles(_ values: [Double]) throws(LaunchError) -> [Double] {
        var all = [Double](repeating: 0, count: values.count * size)
        let n = Int32(values.count)
        try timed("MPI_Allgather") {
            (values.withUnsafeBytes { v in all.withUnsafeMutableBytes { a in mpi.allgather(v.baseAddress, n, mpi.double, a.baseAddress, n, mpi.double, mpi.commWorld) } }, ())
        }
        return all
    }

    public func gather(_ bytes: [UInt8]) throws -> [[UInt8]] {
        let lengths = try gatherDoubles([Double(bytes.count)]).map { Int32($0) }
        var offsets = [Int32](repeating: 0, count: size)
        for r in 1..<max(size, 1) { offsets[r] = offsets[r - 1] + lengths[r - 1] }
        var all = [UInt8](repeating: 0, count: Int(lengths.reduce(0, +)))
        try timed("MPI_Allgatherv") {
            (bytes.withUnsafeBytes { b in all.withUnsafeMutableBytes { a in
                mpi.allgatherv(b.baseAddress, Int32(bytes.count), mpi.byte, a.baseAddress, lengths, offsets, mpi.byte, mpi.commWorld)
            } }, ())
        }
        return (0..<size).map { Array(all[Int(offsets[$0])..<Int(offsets[$0] + lengths[$0])]) }
    }

    public func broadcast(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws {
        var done = 0
        while done < count {  // MPI counts are 32-bit
            let n = min(count - done, 1 << 30)
            try timed("MPI_Bcast") { (mpi.bcast(buffer + done, Int32(n), mpi.float, 0, mpi.commWorld), ()) }
            done += n
        }
    }

    public func broadcast(_ bytes: [UInt8]) throws -> [UInt8] {
        var length = [Double(bytes.count)]
        try timed("MPI_Bcast") { (length.withUnsafeMutableBytes { mpi.bcast($0.baseAddress, 1, mpi.double, 0, mpi.commWorld) }, ()) }
        var out = rank == 0 ? bytes : [UInt8](repeating: 0, count: Int(length[0]))
        let n = Int32(out.count)
        try timed("MPI_Bcast") { (out.withUnsafeMutableBytes { mpi.bcast($0.baseAddress, n, mpi.byte, 0, mpi.commWorld) }, ()) }
        return out
    }

    public func abort(code: Int32) -> Never {
        _ = mpi.abort(mpi.commWorld, code)
        exit(code)
    }

    public func finish() {
        guard !finished else { return }
        finished = true
        _ = mpi.barrier(mpi.commWorld)
        _ = mpi.finalize()
    }
}
