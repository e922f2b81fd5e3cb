import Tensors

/// One projection of a grouped LoRA linear: its output width and, when adapted, its LoRA pair.
public struct LoRABlock {
    public let rows: Int
    public let a: Variable?   // [r, in]
    public let b: Variable?   // [rows, r]
    public let dropoutSeed: UInt64

    public init(rows: Int, a: Variable? = nil, b: Variable? = nil, dropoutSeed: UInt64 = 0) {
        self.rows = rows; self.a = a; self.b = b; self.dropoutSeed = dropoutSeed
    }
}

extension Tape {
    /// Several LoRA linears that read the same input (q/k/v, or gate/up) as one op: `W` is their base
    /// weights stacked by rows, so the base projection is one GEMM `[N, in]·[Σout, in]ᵀ`, and — without
    /// dropout — the LoRA down-projections are one GEMM too (`[N, in]·[Σr, in]ᵀ`). Each block computes
    /// exactly `loraLinear` (same math, same dropout masks); only the GEMM grouping differs.
    /// Output `[N, Σout]`, blocks side by side (split it with `splitColumns`).
    /// `products`: the fp32 GEMM of the adapter products (OpenBLAS in fp32 runs).
    public func groupedLoRALinear(_ x: Variable, _ w: FrozenWeight, blocks: [LoRABlock], scale s: Float, dropout p: Float = 0,
                                  products: FP32Products = .openBLAS) -> Variable {
        WorkProfile.measure(.lora) { groupedLoRALinearOp(x, w, blocks: blocks, scale: s, dropout: p, products: products) }
    }

    /// `splitColumns(groupedLoRALinear(…), widths: blocks' rows)`: each block's output `[N, rows]` as its
    /// own variable. With the AVX-512 products (bf16 runs) every block's `Y += s·Hr·Bᵀ` and the copy of
    /// its columns out of Y run together, a few rows at a time on every worker, so the copy reads rows
    /// the product has just written (one pass over Y instead of two). OpenBLAS (fp32 runs) makes the
    /// same calls as the two ops. Same values either way (each output element is computed alike).
    public func groupedLoRALinearBlocks(_ x: Variable, _ w: FrozenWeight, blocks: [LoRABlock], scale s: Float, dropout p: Float = 0,
                                        products: FP32Products = .openBLAS) -> [Variable] {
        let widths = blocks.map(\.rows)
        guard case .avx512 = products else {
            return splitColumns(groupedLoRALinear(x, w, blocks: blocks, scale: s, dropout: p, products: products), widths: widths)
        }
        let n = x.value.rows
        let parts = widths.map { Tensor(uninitialized: [n, $0]) }
        let gradients = BlockGradients(count: parts.count)
        let y = WorkProfile.measure(.lora) {
            groupedLoRALinearOp(x, w, blocks: blocks, scale: s, dropout: p, products: products, copyingInto: parts, gathering: gradients)
        }
        // y never leaves this op, so its gradient comes only from the blocks: each block's pullback keeps
        // its gradient, and y's pullback gathers them in one pass (instead of zero-filling and adding).
        return parts.enumerated().map { i, part in
            let v = Variable(part, requiresGrad: y.requiresGrad)
            record(v) { dp in
                gradients.parts[i] = dp
                if y.grad == nil { y.grad = Tensor(uninitialized: y.value.shape) }
            }
            return v
        }
    }

    private func groupedLoRALinearOp(_ x: Variable, _ w: FrozenWeight, blocks: [LoRABlock], scale s: Float, dropout p: Float,
                                     products: FP32Products, copyingInto parts: [Tensor]? = nil,
                                     gathering gradients: BlockGradients? = nil) -> Variable {
        let n = x.value.rows, inF = w.columns, total = w.rows
        precondition(x.value.columns == inF && blocks.reduce(0, { $0 + $1.rows }) == total,
                     "groupedLoRALinear: x \(x.shape), W \(w.shape), block rows \(blocks.map(\.rows))")
        let y = Tensor(uninitialized: [n, total])
        w.forwardProduct(m: n, x.value.data, ldx: inF, y.data, ldy: total)
        // Adapted blocks: output column offset, LoRA pair, and where their Hr = X̃·Aᵀ lives.
        struct Adapted { let column: Int; let rows: Int; let a: Variable; let b: Variable; let bT: Tensor?; let seed: UInt64
                         let xDropped: Tensor; let hr: Tensor; let hrColumn: Int; let hrStride: Int }
        let lora = LoRAProducts(products)
        var adapted: [Adapted] = []
        var column = 0
        let ranks = blocks.compactMap { $0.a?.value.rows }
        let rTotal = ranks.reduce(0, +)
        // Without dropout every block reads x itself, so A's stack into one [Σr, in] GEMM.
        let aStack: Tensor? = (p == 0 && rTotal > 0) ? Tensor(uninitialized: [rTotal, inF]) : nil
        let hrAll: Tensor? = aStack.map { _ in Tensor(uninitialized: [n, rTotal]) }
        if let aStack, let hrAll {
            var off = 0
            for block in blocks { if let a = block.a { (aStack.data + off).update(from: a.value.data, count: a.value.count); off += a.value.count } }
            lora.down(n: n, r: rTotal, inF: inF, x.value.data, ldx: inF, aStack.data, hrAll.data, ldh: rTotal)
        }
        var hrColumn = 0
        for block in blocks {
            defer { column += block.rows }
            guard let a = block.a, let b = block.b else { continue }
            let r = a.value.rows
            precondition(a.value.columns == inF && b.value.rows == block.rows && b.value.columns == r, "groupedLoRALinear: A \(a.shape), B \(b.shape)")
            let entry: Adapted
            let bT = lora.transposedB(b.value)
            if let hrAll {
                entry = Adapted(column: column, rows: block.rows, a: a, b: b, bT: bT, seed: block.dropoutSeed, xDropped: x.value,
                                hr: hrAll, hrColumn: hrColumn, hrStride: rTotal)
            } else {
                let xd = Tensor(uninitialized: [n, inF])
                DropoutMask.apply(seed: block.dropoutSeed, p: p, x.value.data, xd.data, count: n * inF)
                let hr = Tensor(uninitialized: [n, r])
                lora.down(n: n, r: r, inF: inF, xd.data, ldx: inF, a.value.data, hr.data, ldh: r)
                entry = Adapted(column: column, rows: block.rows, a: a, b: b, bT: bT, seed: block.dropoutSeed, xDropped: xd, hr: hr, hrColumn: 0,
                                hrStride: r)
            }
            // y[:, block] += s · Hr·Bᵀ (with `parts`: below, together with the copies)
            if parts == nil {
                lora.up(n: n, out: block.rows, r: r, scale: s, entry.hr.data + entry.hrColumn, ldh: entry.hrStride, b: b.value, bT: bT,
                        y.data + column, ldy: total)
            }
            adapted.append(entry)
            hrColumn += r
        }
        if let parts {
            // Row chunks of about 256 KiB of Y: the up-products write them, the copies read them from cache.
            let chunkRows = max(8, 65536 / max(1, total) / 8 * 8), workers = Threads.count, per = (n + workers - 1) / workers
            let widths = blocks.map(\.rows), columns = widths.indices.map { widths[..<$0].reduce(0, +) }
            Threads.parallelWorkers { worker in
                let end = min(n, (worker + 1) * per)
                for r0 in stride(from: worker * per, to: end, by: chunkRows) {
                    let rows = min(chunkRows, end - r0)
                    for e in adapted {
                        lora.up(n: rows, out: e.rows, r: e.a.value.rows, scale: s, e.hr.data + r0 * e.hrStride + e.hrColumn, ldh: e.hrStride,
                                b: e.b.value, bT: e.bT, y.data + r0 * total + e.column, ldy: total)
                    }
                    for (part, (width, c)) in zip(parts, zip(widths, columns)) {
                        for row in r0..<(r0 + rows) { (part.data + row * width).update(from: y.data + row * total + c, count: width) }
                    }
                }
            }
        }

        let needs = x.requiresGrad || adapted.contains { $0.a.requiresGrad || $0.b.requiresGrad }
        let out = Variable(y, requiresGrad: needs)
        record(out) { dy in
            if let gradients { WorkProfile.measure(.columnSplits) { gradients.gather(into: dy, widths: blocks.map(\.rows)) } }
            WorkProfile.measure(.lora) {
            // dHr of every adapted block, laid out like its Hr.
            let dhrAll: Tensor? = hrAll.map { _ in Tensor(uninitialized: [n, rTotal]) }
            var dhrs: [Tensor] = []
            for e in adapted {
                let r = e.a.value.rows
                if e.b.requiresGrad {
                    e.b.accumulateGrad { db, beta in
                        lora.gradB(n: n, out: e.rows, r: r, scale: s, dy.data + e.column, ldy: total, e.hr.data + e.hrColumn, ldh: e.hrStride,
                                   db, beta: beta)
                    }
                }
                let dhr = dhrAll ?? Tensor(uninitialized: [n, r])
                let dhrColumn = dhrAll == nil ? 0 : e.hrColumn, stride = dhrAll == nil ? r : rTotal
                lora.gradHr(n: n, out: e.rows, r: r, scale: s, dy.data + e.column, ldy: total, b: e.b.value, bT: e.bT,
                            dhr.data + dhrColumn, ldh: stride)
                dhrs.append(dhr)
            }
            if let dhrAll, let aStack {
                // dA_stack = dHrᵀ·x, one GEMM; each A takes its rows.
                if adapted.contains(where: { $0.a.requiresGrad }) {
                    let da = Tensor(uninitialized: [rTotal, inF])
                    lora.gradA(n: n, r: rTotal, inF: inF, dhrAll.data, ldh: rTotal, x.value.data, ldx: inF, da.data, beta: 0)
                    for e in adapted where e.a.requiresGrad {
                        let src = da.data + e.hrColumn * inF, count = e.a.value.count
                        e.a.accumulateGrad { g, beta in beta == 0 ? g.update(from: src, count: count) : axpy(1, src, g, count) }
                    }
                }
                if x.requiresGrad {
                    x.accumulateGrad { dx, beta in
                        w.backwardProduct(m: n, dy.data, lddy: total, dx, lddx: inF, beta: beta)
                        lora.gradX(n: n, r: rTotal, inF: inF, dhrAll.data, ldh: rTotal, aStack.data, dx, beta: 1)
                    }
                }
            } else {
                for (e, dhr) in zip(adapted, dhrs) where e.a.requiresGrad {
                    let r = e.a.value.rows
                    e.a.accumulateGrad { da, beta in
                        lora.gradA(n: n, r: r, inF: inF, dhr.data, ldh: r, e.xDropped.data, ldx: inF, da, beta: beta)
                    }
                }
                if x.requiresGrad {
                    x.accumulateGrad { dx, beta in
                        w.backwardProduct(m: n, dy.data, lddy: total, dx, lddx: inF, beta: beta)
                        for (e, dhr) in zip(adapted, dhrs) {
                            lora.gradXDropped(n: n, r: e.a.value.rows, inF: inF, dhr.data, ldh: e.a.value.rows, e.a.value.data, seed: e.seed, p: p, dx)
                        }
                    }
                }
            }
        } }
        return out
    }

    /// Splits `[N, Σw]` into `[N, w_i]` column blocks (copies). Backward writes each block's gradient
    /// back into its columns.
    public func splitColumns(_ y: Variable, widths: [Int]) -> [Variable] {
        WorkProfile.measure(.columnSplits) { splitColumnsOp(y, widths: widths) }
    }

    private func splitColumnsOp(_ y: Variable, widths: [Int]) -> [Variable] {
        let n = y.value.rows, total = y.value.columns
        precondition(widths.reduce(0, +) == total, "splitColumns: widths \(widths) do not add up to \(total)")
        var outs: [Variable] = []
        var column = 0
        for width in widths {
            let part = Tensor(uninitialized: [n, width])
            let src = y.value.data, dst = part.data, c = column
            // Copies and gradient writes are memory-bound: split the rows across the workers.
            parallelChunks(n, minimumPerChunk: Self.splitRowsPerChunk(total)) { rows in
                for row in rows { (dst + row * width).update(from: src + row * total + c, count: width) }
            }
            outs.append(recordColumns(of: y, part, column: column))
            column += width
        }
        return outs
    }

    private static func splitRowsPerChunk(_ total: Int) -> Int { max(1, 65536 / max(1, total)) }

    /// `part` (already holding columns `column..<column+width` of `y`) as a variable whose gradient is
    /// added back into those columns of y's gradient.
    private func recordColumns(of y: Variable, _ part: Tensor, column c: Int) -> Variable {
        let n = y.value.rows, total = y.value.columns, width = part.columns
        let v = Variable(part, requiresGrad: y.requiresGrad)
        record(v) { dp in WorkProfile.measure(.columnSplits) {
            y.accumulateGrad { g, beta in
                parallelChunks(n, minimumPerChunk: Self.splitRowsPerChunk(total)) { rows in
                    for row in rows {
                        // A fresh gradient: zero the whole row (the other blocks' columns too), then add.
                        if beta == 0 { (g + row * total).update(repeating: 0, count: total) }
                        axpy(1, dp.data + row * width, g + row * total + c, width)
                    }
                }
            }
        } }
        return v
    }
}

/// The block outputs' gradients of `groupedLoRALinearBlocks`, kept until the grouped op's backward
/// gathers them into its `[N, Σout]` gradient.
final class BlockGradients {
    var parts: [Tensor?]

    init(count: Int) { parts = Array(repeating: nil, count: count) }

    /// `g[:, block i] = 0 + parts[i]` (zero for a block that got no gradient; adding to zero as
    /// `splitColumns`' backward does, so −0 becomes +0 alike), row by row on every worker; then releases them.
    func gather(into g: Tensor, widths: [Int]) {
        let n = g.rows, total = g.columns, parts = self.parts
        parallelChunks(n, minimumPerChunk: max(1, 65536 / max(1, total))) { rows in
            for row in rows {
                let dst = g.data + row * total
                dst.update(repeating: 0, count: total)
                var column = 0
                for (part, width) in zip(parts, widths) {
                    if let part { axpy(1, part.data + row * width, dst + column, width) }
                    column += width
                }
            }
        }
        self.parts = Array(repeating: nil, count: parts.count)
    }
}
