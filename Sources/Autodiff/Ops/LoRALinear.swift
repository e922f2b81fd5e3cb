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
        // Hr [N, r] = X̃·Aᵀ
        let hr = Tensor(uninitialized: [n, r])
        products.gemm(transA: false, transB: true, m: n, n: r, k: inF, xDropped.data, lda: inF, a.value.data, ldb: inF, hr.data, ldc: r)
        // y = x·Wᵀ + s·Hr·Bᵀ
        let y = Tensor(uninitialized: [n, outF])
        w.forwardProduct(m: n, x.value.data, ldx: inF, y.data, ldy: outF)
        products.gemm(transA: false, transB: true, m: n, n: outF, k: r, alpha: s, hr.data, lda: r, b.value.data, ldb: r,
              beta: 1, y.data, ldc: outF)

        let out = Variable(y, requiresGrad: x.requiresGrad || a.requiresGrad || b.requiresGrad)
        record(out) { dy in WorkProfile.measure(.lora) {
            if b.requiresGrad {
                b.accumulateGrad { db, beta in
                    products.gemm(transA: true, transB: false, m: outF, n: r, k: n, alpha: s, dy.data, lda: outF, hr.data, ldb: r,
                          beta: beta, db, ldc: r)
                }
            }
            guard a.requiresGrad || x.requiresGrad else { return }
            // dHr [N, r] = s·dy·B
            let dhr = Tensor(uninitialized: [n, r])
            products.gemm(transA: false, transB: false, m: n, n: r, k: outF, alpha: s, dy.data, lda: outF, b.value.data, ldb: r,
                  dhr.data, ldc: r)
            if a.requiresGrad {
                a.accumulateGrad { da, beta in
                    products.gemm(transA: true, transB: false, m: r, n: inF, k: n, dhr.data, lda: r, xDropped.data, ldb: inF,
                          beta: beta, da, ldc: inF)
                }
            }
            if x.requiresGrad {
                x.accumulateGrad { dx, beta in
                    w.backwardProduct(m: n, dy.data, lddy: outF, dx, lddx: inF, beta: beta)
                    if p == 0 {
                        products.gemm(transA: false, transB: false, m: n, n: inF, k: r, dhr.data, lda: r, a.value.data, ldb: inF,
                              beta: 1, dx, ldc: inF)
                    } else {
                        let t = Tensor(uninitialized: [n, inF])
                        products.gemm(transA: false, transB: false, m: n, n: inF, k: r, dhr.data, lda: r, a.value.data, ldb: inF,
                              t.data, ldc: inF)
                        DropoutMask.apply(seed: dropoutSeed, p: p, t.data, t.data, count: n * inF)
                        axpy(1, t.data, dx, n * inF)
                    }
                }
            }
        } }
        return out
    }
}
