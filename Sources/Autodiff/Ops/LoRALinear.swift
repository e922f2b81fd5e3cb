import Tensors

extension Tape {
    /// LoRA linear: `y = x·Wᵀ + s·(dropout(x)·Aᵀ)·Bᵀ` (docs/formats.md, LoRA).
    ///
    /// Shapes: x `[N, in]`, W `[out, in]` frozen, A `[r, in]`, B `[out, r]`, y `[N, out]`.
    /// Backward with `X̃ = dropout(x)`, `Hr = X̃·Aᵀ`: `dB = s·dyᵀ·Hr`, `dHr = s·dy·B`, `dA = dHrᵀ·X̃`,
    /// `dx = dy·W + dropout_bwd(dHr·A)`. The dropout mask comes from `(dropoutSeed, element index)`.
    /// `products`: the fp32 GEMM of the adapter products (OpenBLAS in fp32 runs).
    public func loraLinear(
        _ x: Variable, _ w: FrozenWeight, a: Variable, b: Variable, scale s: Float,
        dropout p: Float = 0, dropoutSeed: UInt64 = 0, products: FP32Products = .openBLAS
    ) -> Variable {
        WorkProfile.measure(.lora) { loraLinearOp(x, w, a: a, b: b, scale: s, dropout: p, dropoutSeed: dropoutSeed, products: products) }
    }

    private func loraLinearOp(_ x: Variable, _ w: FrozenWeight, a: Variable, b: Variable, scale s: Float, dropout p: Float, dropoutSeed: UInt64,
                              products: FP32Products) -> Variable {
        let n = x.value.rows, inF = w.columns, outF = w.rows, r = a.value.rows
        precondition(x.value.columns == inF && a.value.columns == inF, "loraLinear: x \(x.shape), W \(w.shape), A \(a.shape)")
        precondition(b.value.rows == outF && b.value.columns == r, "loraLinear: B \(b.shape) must be [\(outF), \(r)]")

        // X̃ [N, in]: x itself without dropout.
        let xDropped: Tensor
        if p > 0 {
            xDropped = Tensor(uninitialized: [n, inF])
            DropoutMask.apply(seed: dropoutSeed, p: p, x.value.data, xDropped.data, count: n * inF)
        } else {
            xDropped = x.value
        }
        let lora = LoRAProducts(products)
        let bT = lora.transposedB(b.value)
        // Hr [N, r] = X̃·Aᵀ
        let hr = Tensor(uninitialized: [n, r])
        lora.down(n: n, r: r, inF: inF, xDropped.data, ldx: inF, a.value.data, hr.data, ldh: r)
        // y = x·Wᵀ + s·Hr·Bᵀ
        let y = Tensor(uninitialized: [n, outF])
        w.forwardProduct(m: n, x.value.data, ldx: inF, y.data, ldy: outF)
        lora.up(n: n, out: outF, r: r, scale: s, hr.data, ldh: r, b: b.value, bT: bT, y.data, ldy: outF)

        let out = Variable(y, requiresGrad: x.requiresGrad || a.requiresGrad || b.requiresGrad)
        record(out) { dy in WorkProfile.measure(.lora) {
            if b.requiresGrad {
                b.accumulateGrad { db, beta in
                    lora.gradB(n: n, out: outF, r: r, scale: s, dy.data, ldy: outF, hr.data, ldh: r, db, beta: beta)
                }
            }
            guard a.requiresGrad || x.requiresGrad else { return }
            // dHr [N, r] = s·dy·B
            let dhr = Tensor(uninitialized: [n, r])
            lora.gradHr(n: n, out: outF, r: r, scale: s, dy.data, ldy: outF, b: b.value, bT: bT, dhr.data, ldh: r)
            if a.requiresGrad {
                a.accumulateGrad { da, beta in
                    lora.gradA(n: n, r: r, inF: inF, dhr.data, ldh: r, xDropped.data, ldx: inF, da, beta: beta)
                }
            }
            if x.requiresGrad {
                x.accumulateGrad { dx, beta in
                    w.backwardProduct(m: n, dy.data, lddy: outF, dx, lddx: inF, beta: beta)
                    if p == 0 {
                        lora.gradX(n: n, r: r, inF: inF, dhr.data, ldh: r, a.value.data, dx, beta: 1)
                    } else {
                        lora.gradXDropped(n: n, r: r, inF: inF, dhr.data, ldh: r, a.value.data, seed: dropoutSeed, p: p, dx)
                    }
                }
            }
        } }
        return out
    }
}
