import Tensors

extension Tape {
    /// `y = x·Wᵀ` with a frozen weight. x `[N, in]`, W `[out, in]` → y `[N, out]`.
    /// Backward: `dx = dy·W`; W never gets a gradient.
    public func linear(_ x: Variable, _ w: FrozenWeight) -> Variable {
        let n = x.value.rows, inF = w.columns, outF = w.rows
        precondition(x.value.columns == inF, "linear: x \(x.shape) does not match W \(w.shape)")
        let y = Tensor(uninitialized: [n, outF])
        w.withFloat32 { wp in
            sgemm(transA: false, transB: true, m: n, n: outF, k: inF, x.value.data, lda: inF, wp, ldb: inF, y.data, ldc: outF)
        }
        let out = Variable(y, requiresGrad: x.requiresGrad)
        record(out) { dy in
            x.accumulateGrad { dx, beta in
                w.withFloat32 { wp in
                    sgemm(transA: false, transB: false, m: n, n: inF, k: outF, dy.data, lda: outF, wp, ldb: inF,
                          beta: beta, dx, ldc: inF)
                }
            }
        }
        return out
    }
}
