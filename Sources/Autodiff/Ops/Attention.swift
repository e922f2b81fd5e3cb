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
        let o = Tensor(zeros: [n, heads * d])
        let lse = Tensor(uninitialized: [n, heads])
        let qp = SendablePointer(q.value.data), kp = SendablePointer(k.value.data), vp = SendablePointer(v.value.data)
        let op = SendablePointer(o.data), lp = SendablePointer(lse.data)
        WorkProfile.measure(.attention) {
            let kT = geometry.transposed(k.value)
            let ktp = SendablePointer(kT.data)
            geometry.forEachUnit { unit, scratch in
                geometry.forward(unit, q: qp.pointer, k: kp.pointer, v: vp.pointer, out: op.pointer, lse: lp.pointer, scores: scratch.0,
                                 kT: ktp.pointer)
            }
        }

        let out = Variable(o, requiresGrad: q.requiresGrad || k.requiresGrad || v.requiresGrad)
        record(out) { [lse] dO in WorkProfile.measure(.attention) {
            // Derive pointers from the captured tensors: a pullback holding only a raw pointer would read
            // freed (and reused) storage.
            let qp = SendablePointer(q.value.data), kp = SendablePointer(k.value.data), vp = SendablePointer(v.value.data)
            let lp = SendablePointer(lse.data)
            let dq = Tensor(zeros: [n, heads * d])
            // Per-(segment, head) partial dK and dV, [len, d] each, reduced below in a fixed order.
            let partials = Tensor(uninitialized: [max(2 * n * heads * d, 1)])
            let dqp = SendablePointer(dq.data), pp = SendablePointer(partials.data), dop = SendablePointer(dO.data)
            let kT = geometry.transposed(k.value), vT = geometry.transposed(v.value)
            let ktp = SendablePointer(kT.data), vtp = SendablePointer(vT.data)
            geometry.forEachUnit { unit, scratch in
                geometry.backward(unit, q: qp.pointer, k: kp.pointer, v: vp.pointer, dO: dop.pointer, lse: lp.pointer,
                                  dq: dqp.pointer, partials: pp.pointer, p: scratch.0, dp: scratch.1, kT: ktp.pointer, vT: vtp.pointer)
            }
            let ks = kvHeads * d
            let dk = Tensor(zeros: [n, ks]), dv = Tensor(zeros: [n, ks])
            for unit in geometry.units {
                let (seg, h) = (geometry.segments[unit.segment], unit.head)
                let g = h / geometry.rep
                let base = geometry.partialOffset(unit)
                for i in 0..<seg.length {
                    axpy(1, partials.data + base + i * d, dk.data + (seg.start + i) * ks + g * d, d)
                    axpy(1, partials.data + base + seg.length * d + i * d, dv.data + (seg.start + i) * ks + g * d, d)
                }
            }
            for (variable, grad) in [(q, dq), (k, dk), (v, dv)] where variable.requiresGrad {
                variable.accumulateGrad { dst, beta in
                    beta == 0 ? dst.update(from: grad.data, count: grad.count) : axpy(1, grad.data, dst, grad.count)
                }
            }
        } }
        return out
    }
}

/// The work of one attention call: (segment, head) units and the per-unit kernels.
struct AttentionGeometry: @unchecked Sendable {
    struct Unit { let segment: Int; let head: Int }

    let heads: Int, kvHeads: Int, d: Int, rep: Int
    let products: FP32Products
    let segments: [Segment]
    let units: [Unit]
    let maxLen: Int
    /// Rows of q, k and v (all segments and padding).
    let totalRows: Int
    let scale: Float
    /// Offset of each segment's first partial block (2·len·d floats per head).
    let segmentPartialBase: [Int]

    init(heads: Int, kvHeads: Int, headDim d: Int, rows: Int, segments: [Segment], products: FP32Products) {
        totalRows = rows
        self.heads = heads; self.kvHeads = kvHeads; self.d = d; self.rep = heads / kvHeads
        self.products = products
        self.segments = segments
        units = segments.indices.flatMap { s in (0..<heads).map { Unit(segment: s, head: $0) } }
        maxLen = segments.map(\.length).max() ?? 0
        scale = 1 / Float(d).squareRoot()
        var base: [Int] = [], acc = 0
        for seg in segments { base.append(acc); acc += 2 * seg.length * d * heads }
        segmentPartialBase = base
    }

    func partialOffset(_ u: Unit) -> Int { segmentPartialBase[u.segment] + u.head * 2 * segments[u.segment].length * d }

    /// Runs `body` over every unit on all threads (unit i on worker i mod threads), each worker with
    /// its own two `[maxLen, maxLen]` scratch buffers.
    func forEachUnit(_ body: (Unit, (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>)) -> Void) {
        let workers = min(Threads.count, max(units.count, 1))
        let scratch = (0..<workers).map { _ in
            (Tensor(uninitialized: [max(maxLen * maxLen, 1)]), Tensor(uninitialized: [max(maxLen * maxLen, 1)]))
        }
        func run(_ w: Int) {
            var i = w
            while i < units.count {
                body(units[i], (scratch[w].0.data, scratch[w].1.data))
                i += workers
            }
        }
        if workers <= 1 { run(0) } else { Threads.parallelWorkers { w in if w < workers { run(w) } } }
    }

    /// Row tiles of a causal `[len, len]` block: rows `i0..<i1` only need keys `0..<i1`, so tiling skips
    /// the upper triangle's GEMM work (about 44 % of it with 64-row tiles at len 512).
    func tiles(_ len: Int) -> [Range<Int>] {
        let t = 64
        return stride(from: 0, to: len, by: t).map { $0..<min(len, $0 + t) }
    }

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
        for (s, seg) in segments.enumerated() {
            for g in 0..<kvHeads {
                let src = x.data + seg.start * ks + g * d, dst = t.data + transposedOffset(segment: s, kvHead: g, n: n)
                for c in 0..<d { for j in 0..<seg.length { dst[c * seg.length + j] = src[j * ks + c] } }
            }
        }
        return t
    }

    func transposedOffset(segment s: Int, kvHead g: Int, n: Int) -> Int { g * d * n + segments[s].start * d }

    func forward(_ u: Unit, q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                 out: UnsafeMutablePointer<Float>, lse: UnsafeMutablePointer<Float>, scores: UnsafeMutablePointer<Float>,
                 kT kTAll: UnsafePointer<Float>) {
        let seg = segments[u.segment], len = seg.length, h = u.head, g = h / rep
        let qs = heads * d, ks = kvHeads * d
        let qh = q + seg.start * qs + h * d, kg = k + seg.start * ks + g * d, vg = v + seg.start * ks + g * d
        let kT = kTAll + transposedOffset(segment: u.segment, kvHead: g, n: totalRows)
        for tile in tiles(len) {
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

    func backward(_ u: Unit, q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, dO: UnsafePointer<Float>,
                  lse: UnsafePointer<Float>, dq: UnsafeMutablePointer<Float>, partials: UnsafeMutablePointer<Float>,
                  p: UnsafeMutablePointer<Float>, dp: UnsafeMutablePointer<Float>, kT kTAll: UnsafePointer<Float>, vT vTAll: UnsafePointer<Float>) {
        let seg = segments[u.segment], len = seg.length, h = u.head, g = h / rep
        let qs = heads * d, ks = kvHeads * d
        let qh = q + seg.start * qs + h * d, kg = k + seg.start * ks + g * d, vg = v + seg.start * ks + g * d
        let doh = dO + seg.start * qs + h * d
        let dkPart = partials + partialOffset(u), dvPart = dkPart + len * d
        dkPart.update(repeating: 0, count: 2 * len * d)
        let kT = kTAll + transposedOffset(segment: u.segment, kvHead: g, n: totalRows)
        let vT = vTAll + transposedOffset(segment: u.segment, kvHead: g, n: totalRows)
        for tile in tiles(len) {
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
