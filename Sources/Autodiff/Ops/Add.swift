import Tensors

extension Tape {
    /// Residual add `y = a + b` (same shapes); both inputs receive `dy`.
    public func add(_ a: Variable, _ b: Variable) -> Variable {
        precondition(a.value.count == b.value.count, "add: shapes \(a.shape) and \(b.shape) differ")
        let n = a.value.count
        let y = Tensor(uninitialized: a.shape)
        let pa = a.value.data, pb = b.value.data, py = y.data
        WorkProfile.measure(.elementwise) {
            var i = 0
            while i + 16 <= n { store16(py + i, load16(pa + i) + load16(pb + i)); i += 16 }
            while i < n { py[i] = pa[i] + pb[i]; i += 1 }
        }
        let out = Variable(y, requiresGrad: a.requiresGrad || b.requiresGrad)
        record(out) { dy in WorkProfile.measure(.elementwise) {
            for v in [a, b] where v.requiresGrad {
                v.accumulateGrad { g, beta in
                    if beta == 0 { g.update(from: dy.data, count: n) } else { axpy(1, dy.data, g, n) }
                }
            }
        } }
        return out
    }
}
