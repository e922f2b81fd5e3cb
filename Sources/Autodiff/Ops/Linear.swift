import Tensors

extension Tape {
    /// `y = x·Wᵀ` with a frozen weight. x `[N, in]`, W `[out, in]` → y `[N, out]`.
    /// Backward: `dx = dy·W`; W never gets a gradient.
    public func linear(_ x: Variable, _ w: FrozenWeight) -> Variable {
        let n = x.value.rows, inF = w.columns, outF = w.rows
        precondition(x.value.columns == inF, "linear: x \(x.shape) does not match W \(w.shape)")
        let y = Tensor(uninitialized: [n, outF])
        w.forwardProduct(m: n, x.value.data, ldx: inF, y.data, ldy: outF)
        let out = Variable(y, requiresGrad: x.requiresGrad)
        record(out) { dy in
            x.accumulateGrad { dx, beta in
                w.backwardProduct(m: n, dy.data, lddy: outF, dx, lddx: inF, beta: beta)
            }
        }
        return out
    }
}
