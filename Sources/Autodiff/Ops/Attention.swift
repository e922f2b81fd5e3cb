import CKernels
import Foundation
import Tensors

/// A run of rows `start ..< start+length` that attend causally among themselves only: one sequence
/// of a batch, or one document of a packed row. Rows outside every segment (padding) are never
/// attended, produce zeros and receive no gradient.
public struct Segment: Sendable, Equatable {
    public let start: Int
    public let length: Int
    public init(start: Int, length: Int) {
        self.start = start
        self.length = length
    }
}

extension Tape {
    /// Causal grouped-query attention over independent segments (docs/formats.md, Forward pass).
    ///
    /// q `[N, H·d]`, k and v `[N, G·d]` (heads are column blocks; already rotated), output `[N, H·d]`.
    /// Query head j uses kv head `j / (H/G)`. `P = softmax(q·kᵀ/sqrt(d) + causal)` in fp32 with the row
    /// max subtracted. Only the row log-sum-exp is saved; backward recomputes P one head at a time, so
    /// memory is O(N·H) plus one `[L, L]` scratch per thread, not O(H·L²) per layer.
    /// Backward: `dV += Pᵀ·dO`, `dP = dO·Vᵀ`, `dS = P ⊙ (dP − rowsum(P ⊙ dP))`, `dQ = dS·K/√d`,
    /// `dK += dSᵀ·Q/√d`; a kv head sums over its query heads.
    ///
    /// The (segment, head) pairs are independent, so they run on all threads, each with single-threaded
    /// GEMMs (small per-head GEMMs parallelise poorly inside OpenBLAS). Each pair writes its own rows and
    /// columns; the kv-head sums of the backward pass are reduced afterwards in a fixed order, so the
    /// result does not depend on scheduling.
    public func attention(
        q: Variable, k: Variable, v: Variable, heads: Int, kvHeads: Int, headDim d: Int, segments: [Segment],
        products: FP32Products = .openBLAS
    ) -> Variable {
        let n = q.value.rows
        precondition(heads % kvHeads == 0, "attention: \(heads) heads is not a multiple of \(kvHeads) kv heads")
        precondition(q.value.columns == heads * d && k.value.columns == kvHeads * d && v.value.columns == kvHeads * d,
                     "attention: q \(q.shape), k \(k.shape), v \(v.shape) do not match heads/head_dim")
        let geometry = AttentionGeometry(heads: heads, kvHeads: kvHeads, headDim: d, rows: n, segments: segments.filter { $0.length > 0 },
                                         products: products)
        let o = geometry.zeroOutsideSegments(Tensor(uninitialized: [n, heads * d]))
        let lse = Tensor(uninitialized: [n, heads])
        let qp = SendablePointer(q.value.data), kp = SendablePointer(k.value.data), vp = SendablePointer(v.value.data)
        let op = SendablePointer(o.data), lp = SendablePointer(lse.data)
        WorkProfile.measure(.attention) {
            let kT = geometry.transposed(k.value)
            let ktp = SendablePointer(kT.data)
            geometry.run(geometry.forwardItems()) { item, scratch in
                geometry.forward(item, q: qp.pointer, k: kp.pointer, v: vp.pointer, out: op.pointer, lse: lp.pointer, scores: scratch.0,
                                 kT: ktp.pointer)
            }
        }

        let out = Variable(o, requiresGrad: q.requiresGrad || k.requiresGrad || v.requiresGrad)
        record(out) { [lse] dO in WorkProfile.measure(.attention) {
            // Derive pointers from the captured tensors: a pullback holding only a raw pointer would read
            // freed (and reused) storage.
            let qp = SendablePointer(q.value.data), kp = SendablePointer(k.value.data), vp = SendablePointer(v.value.data)
            let lp = SendablePointer(lse.data)
            let dq = geometry.zeroOutsideSegments(Tensor(uninitialized: [n, heads * d]))
            // Per-(segment, head, part) partial dK and dV, [len, d] each, reduced below in a fixed order.
            let partials = Tensor(uninitialized: [max(2 * n * heads * d * geometry.partsPerUnit, 1)])
            let dqp = SendablePointer(dq.data), pp = SendablePointer(partials.data), dop = SendablePointer(dO.data)
            let kT = geometry.transposed(k.value), vT = geometry.transposed(v.value)
            let ktp = SendablePointer(kT.data), vtp = SendablePointer(vT.data)
            let items = geometry.backwardItems()
            geometry.run(items) { item, scratch in
                geometry.backward(item, q: qp.pointer, k: kp.pointer, v: vp.pointer, dO: dop.pointer, lse: lp.pointer,
                                  dq: dqp.pointer, partials: pp.pointer, p: scratch.0, dp: scratch.1, kT: ktp.pointer, vT: vtp.pointer)
            }
            let ks = kvHeads * d
            let dk = Tensor(zeros: [n, ks]), dv = Tensor(zeros: [n, ks])
            let dkp = SendablePointer(dk.data), dvp = SendablePointer(dv.data)
            // Rows split across the workers; each row sums its items in the same order (units in order,
            // each unit's parts in order) whatever the split.
            parallelChunks(n, minimumPerChunk: 64) { chunk in
                for item in items {
                    let (seg, h) = (geometry.segments[item.unit.segment], item.unit.head)
                    let g = h / geometry.rep
                    let base = pp.pointer + geometry.partialOffset(item)
                    let first = max(0, chunk.lowerBound - seg.start), end = min(geometry.keys(item), chunk.upperBound - seg.start)
                    for i in stride(from: first, to: end, by: 1) {
                        axpy(1, base + i * d, dkp.pointer + (seg.start + i) * ks + g * d, d)
                        axpy(1, base + seg.length * d + i * d, dvp.pointer + (seg.start + i) * ks + g * d, d)
                    }
                }
            }
            for (variable, grad) in [(q, dq), (k, dk), (v, dv)] where variable.requiresGrad {
                variable.accumulateGrad { dst, beta in
                    let src = SendablePointer(grad.data), dst = SendablePointer(dst)
                    parallelChunks(grad.count) { r in
                        let o = r.lowerBound
                        if beta == 0 { (dst.pointer + o).update(from: src.pointer + o, count: r.count) } else { axpy(1, src.pointer + o, dst.pointer + o, r.count) }
                    }
                }
            }
        } }
        return out
    }
}

/// The work of one attention call: (segment, head) units, the items they are cut into for the
/// workers, and the kernels.
struct AttentionGeometry: @unchecked Sendable {
    struct Unit { let segment: Int; let head: Int }
    /// Row tiles `tiles` (tile indices, see `tile(_:len:)`) of a unit; in the backward pass, part `part`
    /// of the unit, with a dK/dV partial of its own.
    struct Item { let unit: Unit; let tiles: Range<Int>; let part: Int }

    let heads: Int, kvHeads: Int, d: Int, rep: Int
    let products: FP32Products
    let segments: [Segment]
    let units: [Unit]
    let maxLen: Int
    /// Rows of q, k and v (all segments and padding).
    let totalRows: Int
    let scale: Float
    /// Offset of each segment's first partial block (2·len·d floats per head and part).
    let segmentPartialBase: [Int]
    /// Backward parts per unit. With OpenBLAS products (fp32 runs) one, so dK/dV keep their summation
    /// order. With the AVX-512 products (bf16 runs, whose order may differ) two of about equal work, so
    /// that an odd number of heads still spreads evenly over the workers (9 whole units on 2 workers
    /// leave one idle for a ninth of the time). The cut does not depend on the worker count.
    let partsPerUnit: Int

    init(heads: Int, kvHeads: Int, headDim d: Int, rows: Int, segments: [Segment], products: FP32Products) {
        totalRows = rows
        self.heads = heads; self.kvHeads = kvHeads; self.d = d; self.rep = heads / kvHeads
        self.products = products
        self.segments = segments
        units = segments.indices.flatMap { s in (0..<heads).map { Unit(segment: s, head: $0) } }
        maxLen = segments.map(\.length).max() ?? 0
        scale = 1 / Float(d).squareRoot()
        partsPerUnit = products == .avx512 ? 2 : 1
        var base: [Int] = [], acc = 0
        for seg in segments { base.append(acc); acc += 2 * seg.length * d * heads * partsPerUnit }
        segmentPartialBase = base
    }

    func partialOffset(_ item: Item) -> Int {
        let len = segments[item.unit.segment].length
        return segmentPartialBase[item.unit.segment] + (item.unit.head * partsPerUnit + item.part) * 2 * len * d
    }

    /// Keys an item's rows attend to (causal: up to its last row): the rows of its dK/dV partial.
    func keys(_ item: Item) -> Int {
        let len = segments[item.unit.segment].length
        return item.tiles.isEmpty ? 0 : min(len, item.tiles.upperBound * tileRows)
    }

    /// Work of an item, in multiply-adds per head dimension: each tile's rows times the keys they see.
    func cost(_ item: Item) -> Int {
        let len = segments[item.unit.segment].length
        return item.tiles.reduce(0) { acc, t in acc + (min(len, (t + 1) * tileRows) - t * tileRows) * min(len, (t + 1) * tileRows) }
    }

    /// Forward items: every row tile of every unit on its own (tiles write disjoint rows).
    func forwardItems() -> [Item] {
        units.flatMap { u in (0..<tileCount(segments[u.segment].length)).map { Item(unit: u, tiles: $0..<($0 + 1), part: 0) } }
    }

    /// Backward items: each unit whole, or cut into `partsPerUnit` runs of tiles of about equal work.
    func backwardItems() -> [Item] {
        units.flatMap { u -> [Item] in
            let count = tileCount(segments[u.segment].length)
            guard partsPerUnit == 2, count >= 2 else { return [Item(unit: u, tiles: 0..<count, part: 0)] }
            let whole = cost(Item(unit: u, tiles: 0..<count, part: 0))
            // The cut that leaves the two parts' work closest to half each.
            let cut = (1..<count).min { a, b in
                abs(2 * cost(Item(unit: u, tiles: 0..<a, part: 0)) - whole) < abs(2 * cost(Item(unit: u, tiles: 0..<b, part: 0)) - whole)
            }!
            return [Item(unit: u, tiles: 0..<cut, part: 0), Item(unit: u, tiles: cut..<count, part: 1)]
        }
    }

    /// Runs `body` over `items` on all threads, each worker with its own two `[maxLen, maxLen]` scratch
    /// buffers. Items go to workers largest first, each to the least loaded so far (ties: the lower
    /// worker): a fixed assignment. Items write disjoint memory and none depends on another, so the
    /// result does not depend on the assignment either.
    func run(_ items: [Item], _ body: (Item, (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>)) -> Void) {
        let workers = min(Threads.count, max(items.count, 1))
        let scratch = (0..<workers).map { _ in
            (Tensor(uninitialized: [max(maxLen * maxLen, 1)]), Tensor(uninitialized: [max(maxLen * maxLen, 1)]))
        }
        var lists = [[Int]](repeating: [], count: workers), load = [Int](repeating: 0, count: workers)
        let costs = items.map(cost)
        for i in items.indices.sorted(by: { costs[$0] > costs[$1] || costs[$0] == costs[$1] && $0 < $1 }) {
            let w = load.indices.min { load[$0] < load[$1] }!
            lists[w].append(i)
            load[w] += costs[i]
        }
        func work(_ w: Int) { for i in lists[w] { body(items[i], (scratch[w].0.data, scratch[w].1.data)) } }
        if workers <= 1 { work(0) } else { Threads.parallelWorkers { w in if w < workers { work(w) } } }
    }

    /// Rows per tile of a causal `[len, len]` block: rows `i0..<i1` only need keys `0..<i1`, so tiling
    /// skips the upper triangle's GEMM work (about 44 % of it with 64-row tiles at len 512).
    let tileRows = 64

    func tileCount(_ len: Int) -> Int { (len + tileRows - 1) / tileRows }

    func tile(_ t: Int, len: Int) -> Range<Int> { (t * tileRows)..<min(len, (t + 1) * tileRows) }

    /// One product of a unit on the calling thread, `C (+)= alpha · op(A) · op(B)`, by `products`. For
    /// a transposed B the `.avx512` kernel reads `bT`, the same matrix stored `[k, n]` (row stride `ldbT`).
    private func product(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1, _ a: UnsafePointer<Float>, lda: Int,
        _ b: UnsafePointer<Float>, ldb: Int, bT: UnsafePointer<Float>, ldbT: Int, accumulate: Bool = false,
        _ c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        switch products {
        case .openBLAS:
            sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a, lda: lda, b, ldb: ldb, beta: accumulate ? 1 : 0, c, ldc: ldc)
        case .avx512:
            sgemmAVX512(transA: transA, m: m, n: n, k: k, alpha: alpha, a, lda: lda, transB ? bT : b, ldb: transB ? ldbT : ldb,
                        accumulate: accumulate, c, ldc: ldc)
        }
    }

    /// For `.avx512` products (which read B row-major): K or V `[n, G·d]` with each (segment, kv head)
    /// block transposed to `[d, len]`, the block of (segment s, kv head g) at `transposedOffset`. Once per
    /// call, shared by the kv head's query heads. Empty for `.openBLAS`, which reads Kᵀ and Vᵀ in place.
    func transposed(_ x: Tensor) -> Tensor {
        guard products == .avx512 else { return Tensor(uninitialized: [1]) }
        let n = x.rows, ks = kvHeads * d
        let t = Tensor(uninitialized: [max(kvHeads * d * n, 1)])
        let xp = SendablePointer(x.data), tp = SendablePointer(t.data)
        parallelChunks(d, minimumPerChunk: 8) { columns in
            for (s, seg) in segments.enumerated() {
                for g in 0..<kvHeads {
                    let src = xp.pointer + seg.start * ks + g * d, dst = tp.pointer + transposedOffset(segment: s, kvHead: g, n: n)
                    for c in columns { for j in 0..<seg.length { dst[c * seg.length + j] = src[j * ks + c] } }
                }
            }
        }
        return t
    }

    /// `t` (`[totalRows, ·]`) with the rows outside every segment (padding) set to zero; the kernels
    /// write every row inside one.
    func zeroOutsideSegments(_ t: Tensor) -> Tensor {
        let columns = t.columns
        var row = 0
        for seg in segments.sorted(by: { $0.start < $1.start }) {
            if seg.start > row { (t.data + row * columns).update(repeating: 0, count: (seg.start - row) * columns) }
            row = max(row, seg.start + seg.length)
        }
        if totalRows > row { (t.data + row * columns).update(repeating: 0, count: (totalRows - row) * columns) }
        return t
    }

    func transposedOffset(segment s: Int, kvHead g: Int, n: Int) -> Int { g * d * n + segments[s].start * d }

    func forward(_ item: Item, q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                 out: UnsafeMutablePointer<Float>, lse: UnsafeMutablePointer<Float>, scores: UnsafeMutablePointer<Float>,
                 kT kTAll: UnsafePointer<Float>) {
        let u = item.unit, seg = segments[u.segment], len = seg.length, h = u.head, g = h / rep
        let qs = heads * d, ks = kvHeads * d
        let qh = q + seg.start * qs + h * d, kg = k + seg.start * ks + g * d, vg = v + seg.start * ks + g * d
        let kT = kTAll + transposedOffset(segment: u.segment, kvHead: g, n: totalRows)
        for tile in item.tiles.map({ self.tile($0, len: len) }) {
            let (i0, i1) = (tile.lowerBound, tile.upperBound)
            // S[i0..<i1, 0..<i1] = Q·Kᵀ/√d  (row stride len)
            product(transA: false, transB: true, m: i1 - i0, n: i1, k: d, alpha: scale, qh + i0 * qs, lda: qs, kg, ldb: ks,
                    bT: kT, ldbT: len, scores + i0 * len, ldc: len)
            softmaxRows(scores + i0 * len, ld: len, rows: tile, lse: lse + (seg.start + i0) * heads + h)
            // O[i0..<i1] = P[i0..<i1, 0..<i1]·V[0..<i1]
            product(transA: false, transB: false, m: i1 - i0, n: d, k: i1, scores + i0 * len, lda: len, vg, ldb: ks,
                    bT: vg, ldbT: ks, out + (seg.start + i0) * qs + h * d, ldc: qs)
        }
    }

    func backward(_ item: Item, q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, dO: UnsafePointer<Float>,
                  lse: UnsafePointer<Float>, dq: UnsafeMutablePointer<Float>, partials: UnsafeMutablePointer<Float>,
                  p: UnsafeMutablePointer<Float>, dp: UnsafeMutablePointer<Float>, kT kTAll: UnsafePointer<Float>, vT vTAll: UnsafePointer<Float>) {
        let u = item.unit, seg = segments[u.segment], len = seg.length, h = u.head, g = h / rep
        let qs = heads * d, ks = kvHeads * d
        let qh = q + seg.start * qs + h * d, kg = k + seg.start * ks + g * d, vg = v + seg.start * ks + g * d
        let doh = dO + seg.start * qs + h * d
        // The item's dK and dV partials, [len, d] each; only its first `keys` rows receive anything.
        let dkPart = partials + partialOffset(item), dvPart = dkPart + len * d
        dkPart.update(repeating: 0, count: keys(item) * d)
        dvPart.update(repeating: 0, count: keys(item) * d)
        let kT = kTAll + transposedOffset(segment: u.segment, kvHead: g, n: totalRows)
        let vT = vTAll + transposedOffset(segment: u.segment, kvHead: g, n: totalRows)
        for tile in item.tiles.map({ self.tile($0, len: len) }) {
            let (i0, i1) = (tile.lowerBound, tile.upperBound), rows = i1 - i0
            let pt = p + i0 * len, dpt = dp + i0 * len
            // P = exp(S − lse), recomputed for rows i0..<i1, keys 0..<i1.
            product(transA: false, transB: true, m: rows, n: i1, k: d, alpha: scale, qh + i0 * qs, lda: qs, kg, ldb: ks,
                    bT: kT, ldbT: len, pt, ldc: len)
            expRows(pt, ld: len, rows: tile, lse: lse + (seg.start + i0) * heads + h)
            // dV[0..<i1] += Pᵀ·dO[i0..<i1]
            product(transA: true, transB: false, m: i1, n: d, k: rows, pt, lda: len, doh + i0 * qs, ldb: qs,
                    bT: doh, ldbT: qs, accumulate: true, dvPart, ldc: d)
            // dP = dO[i0..<i1]·V[0..<i1]ᵀ
            product(transA: false, transB: true, m: rows, n: i1, k: d, doh + i0 * qs, lda: qs, vg, ldb: ks, bT: vT, ldbT: len, dpt, ldc: len)
            // dS, in place of dP
            softmaxGradRows(pt, dpt, ld: len, rows: tile)
            // dQ[i0..<i1] = dS·K[0..<i1] ; dK[0..<i1] += dSᵀ·Q[i0..<i1]
            product(transA: false, transB: false, m: rows, n: d, k: i1, dpt, lda: len, kg, ldb: ks, bT: kg, ldbT: ks,
                    dq + (seg.start + i0) * qs + h * d, ldc: qs)
            product(transA: true, transB: false, m: i1, n: d, k: rows, dpt, lda: len, qh + i0 * qs, ldb: qs, bT: qh, ldbT: qs,
                    accumulate: true, dkPart, ldc: d)
        }
    }

    // The element-wise steps of a row tile `rows` (causal: row i has keys 0...i; the rest of the tile's
    // width is zeroed for the products). The AVX-512 kernels perform the very same fp32 operations as
    // the Swift loops (bit-identical: AttentionRowKernelTests), so fp32 runs may take them too.

    /// Scores → probabilities in place; `lse[r·heads]` = the log-sum-exp of row r.
    func softmaxRows(_ s: UnsafeMutablePointer<Float>, ld: Int, rows: Range<Int>, lse: UnsafeMutablePointer<Float>,
                     avx512: Bool = CPUInfo.current.avx512f) {
        let (i0, i1) = (rows.lowerBound, rows.upperBound)
        if avx512 {
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * rows.count) { stats in
                let m = stats.baseAddress!, sums = m + rows.count
                ck_softmax_rows_avx512(s, ld, Int32(i0), Int32(rows.count), Int32(i1), m, sums)
                for r in 0..<rows.count { lse[r * heads] = m[r] + Foundation.log(sums[r]) }
            }
            return
        }
        for i in rows {
            let row = s + (i - i0) * ld
            let m = maxElement(row, i + 1)
            let sum = expShiftSum(row, i + 1, shift: m)
            let inv = 1 / sum
            for j in 0...i { row[j] *= inv }
            if i + 1 < i1 { (row + i + 1).update(repeating: 0, count: i1 - i - 1) }
            lse[(i - i0) * heads] = m + Foundation.log(sum)
        }
    }

    /// Recomputes probabilities in place from scores and the saved log-sum-exp.
    func expRows(_ s: UnsafeMutablePointer<Float>, ld: Int, rows: Range<Int>, lse: UnsafePointer<Float>, avx512: Bool = CPUInfo.current.avx512f) {
        let (i0, i1) = (rows.lowerBound, rows.upperBound)
        if avx512 {
            ck_exp_rows_avx512(s, ld, Int32(i0), Int32(rows.count), Int32(i1), lse, heads)
            return
        }
        for i in rows {
            let row = s + (i - i0) * ld
            _ = expShiftSum(row, i + 1, shift: lse[(i - i0) * heads])
            if i + 1 < i1 { (row + i + 1).update(repeating: 0, count: i1 - i - 1) }
        }
    }

    /// dP → dS = P ⊙ (dP − Σ_j P⊙dP) · scale in place (the 1/√d of S folded in here).
    func softmaxGradRows(_ p: UnsafePointer<Float>, _ dp: UnsafeMutablePointer<Float>, ld: Int, rows: Range<Int>,
                         avx512: Bool = CPUInfo.current.avx512f) {
        let (i0, i1) = (rows.lowerBound, rows.upperBound)
        if avx512 {
            ck_softmax_grad_rows_avx512(p, dp, ld, Int32(i0), Int32(rows.count), Int32(i1), scale)
            return
        }
        for i in rows {
            let pr = p + (i - i0) * ld, dr = dp + (i - i0) * ld
            let rowDot = dot(pr, dr, i + 1)
            for j in 0...i { dr[j] = pr[j] * (dr[j] - rowDot) * scale }
            if i + 1 < i1 { (dr + i + 1).update(repeating: 0, count: i1 - i - 1) }
        }
    }
}
