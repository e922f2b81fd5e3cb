/// Scratch memory for merging one piece; reused across the pieces of one `encode` call (never shared
/// between calls, so encoding stays thread-safe without locks).
final class MergeWorkspace {
    private(set) var capacity = 0
    private(set) var ids = UnsafeMutablePointer<UInt32>.allocate(capacity: 1)
    private(set) var values = UnsafeMutablePointer<UInt64>.allocate(capacity: 1)
    private(set) var bytes = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
    private(set) var next = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
    private(set) var prev = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
    /// Heap of `priority << 32 | position`; each merge pushes at most two entries.
    private(set) var heap = UnsafeMutablePointer<UInt64>.allocate(capacity: 1)

    func reserve(_ n: Int) {
        guard n > capacity else { return }
        release()
        capacity = max(n, 64)
        ids = .allocate(capacity: capacity)
        values = .allocate(capacity: capacity)
        bytes = .allocate(capacity: capacity)
        next = .allocate(capacity: capacity)
        prev = .allocate(capacity: capacity)
        heap = .allocate(capacity: 3 * capacity)
    }

    private func release() {
        ids.deallocate()
        values.deallocate()
        bytes.deallocate()
        next.deallocate()
        prev.deallocate()
        heap.deallocate()
    }

    deinit { release() }
}

/// Byte-pair merging (docs/formats.md, Tokenizer): start from single bytes and repeatedly merge the adjacent
/// pair with the lowest priority, leftmost first, until no adjacent pair has a rule.
struct BytePairMerger {
    let pairs: PairTable
    /// `bytePairs[a << 8 | b]`: the rule for the ids of bytes a and b (512 KB, stays in cache), so the
    /// first round of look-ups in a piece does not touch the large hash table.
    let bytePairs: UnsafePointer<UInt64>
    /// Id of each single byte, -1 if the vocabulary lacks it (such bytes are dropped, as HF does without
    /// an unk token; tiktoken files are checked at load to have all 256).
    let byteIDs: UnsafePointer<Int32>

    /// Pieces longer than this use the O(n log n) heap; short ones the simpler O(n²) scan, which is faster
    /// at these sizes. Both give identical results (tested).
    static let linearLimit = 48

    /// Appends the ids of `p[0..<n]` to `out`.
    @inline(__always) func merge(_ p: UnsafePointer<UInt8>, _ n: Int, _ workspace: MergeWorkspace, into out: inout [Int],
                                 forceHeap: Bool = false) {
        workspace.reserve(n)
        let ids = workspace.ids
        let bytes = workspace.bytes
        var m = 0
        for k in 0..<n {
            let id = byteIDs[Int(p[k])]
            if id >= 0 {
                ids[m] = UInt32(truncatingIfNeeded: id)
                bytes[m] = p[k]
                m += 1
            }
        }
        if m <= BytePairMerger.linearLimit && !forceHeap {
            m = mergeLinear(count: m, workspace)
            for k in 0..<m { out.append(Int(ids[k])) }
        } else {
            mergeWithHeap(count: m, workspace, into: &out)
        }
    }

    /// tiktoken's algorithm: keep each adjacent pair's rule, merge the minimum, fix its two neighbours.
    /// Returns the number of ids left in `workspace.ids`.
    @inline(__always) private func mergeLinear(count: Int, _ workspace: MergeWorkspace) -> Int {
        let ids = workspace.ids
        let values = workspace.values   // values[k]: rule of the pair (ids[k], ids[k + 1])
        let bytes = workspace.bytes
        var m = count
        guard m > 1 else { return m }
        for k in 0..<(m - 1) { values[k] = bytePairs[Int(bytes[k]) << 8 | Int(bytes[k + 1])] }
        while m > 1 {
            var best = PairTable.none
            var at = -1
            for k in 0..<(m - 1) where values[k] < best {
                best = values[k]
                at = k
            }
            if at < 0 { break }
            ids[at] = UInt32(truncatingIfNeeded: best)
            // Remove ids[at + 1] and values[at + 1]; values[at] is recomputed below.
            var k = at + 1
            while k < m - 1 {
                ids[k] = ids[k + 1]
                values[k] = values[k + 1]
                k += 1
            }
            m -= 1
            if at > 0 { values[at - 1] = pairs.lookup(ids[at - 1], ids[at]) }
            if at < m - 1 { values[at] = pairs.lookup(ids[at], ids[at + 1]) }
        }
        return m
    }

    /// The same merge order with a min-heap keyed by (priority, position) over a linked list; stale heap
    /// entries are skipped by re-checking the pair's rule when popped.
    private func mergeWithHeap(count m: Int, _ workspace: MergeWorkspace, into out: inout [Int]) {
        guard m > 0 else { return }
        let ids = workspace.ids, next = workspace.next, prev = workspace.prev, heap = workspace.heap
        let dead = UInt32.max
        var size = 0

        func push(_ entry: UInt64) {
            var k = size
            size += 1
            while k > 0 {
                let parent = (k - 1) >> 1
                if heap[parent] <= entry { break }
                heap[k] = heap[parent]
                k = parent
            }
            heap[k] = entry
        }
        func pop() -> UInt64 {
            let top = heap[0]
            size -= 1
            let last = heap[size]
            var k = 0
            while true {
                var child = 2 * k + 1
                if child >= size { break }
                if child + 1 < size && heap[child + 1] < heap[child] { child += 1 }
                if last <= heap[child] { break }
                heap[k] = heap[child]
                k = child
            }
            if size > 0 { heap[k] = last }
            return top
        }
        func pushPair(_ left: Int) {
            let right = Int(next[left])
            guard right >= 0 else { return }
            let rule = pairs.lookup(ids[left], ids[right])
            if rule != PairTable.none { push(rule & 0xFFFF_FFFF_0000_0000 | UInt64(left)) }
        }

        for k in 0..<m {
            prev[k] = Int32(k - 1)
            next[k] = k + 1 < m ? Int32(k + 1) : -1
        }
        for k in 0..<(m - 1) { pushPair(k) }
        while size > 0 {
            let entry = pop()
            let left = Int(entry & 0xFFFF_FFFF)
            guard ids[left] != dead else { continue }
            let right = Int(next[left])
            guard right >= 0 else { continue }
            let rule = pairs.lookup(ids[left], ids[right])
            guard rule != PairTable.none, rule >> 32 == entry >> 32 else { continue }   // stale entry
            ids[left] = UInt32(truncatingIfNeeded: rule)
            ids[right] = dead
            let after = next[right]
            next[left] = after
            if after >= 0 { prev[Int(after)] = Int32(left) }
            if prev[left] >= 0 { pushPair(Int(prev[left])) }
            pushPair(left)
        }
        var k = 0
        while k >= 0 {
            out.append(Int(ids[k]))
            k = Int(next[k])
        }
    }
}
