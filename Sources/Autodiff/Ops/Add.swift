import Tensors

extension Tape {
    /// Residual add `y = a + b` (same shapes); both inputs receive `dy`.
    public func add(_ a: Variable, _ b: Variable) -> Variable {
        precondition(a.value.count == b.value.count, "add: shapes \(a.shape) and \(b.shape) differ")
        let n = a.value.count
        let y = Tensor(uninitialized: a.shape)
        let pa = SendablePointer(a.value.data), pb = SendablePointer(b.value.data), py = SendablePointer(y.data)
        WorkProfile.measure(.elementwise) {
            parallelChunks(n) { r in
                let (pa, pb, py) = (pa.pointer, pb.pointer, py.pointer)
                var i = r.lowerBound
                while i + 16 <= r.upperBound { store16(py + i, load16(pa + i) + load16(pb + i)); i += 16 }
                while i < r.upperBound { py[i] = pa[i] + pb[i]; i += 1 }
            }
        }
        let out = Variable(y, requiresGrad: a.requiresGrad || b.requiresGrad)
        record(out) { dy in WorkProfile.measure(.elementwise) {
            let src = SendablePointer(dy.data)
            for v in [a, b] where v.requiresGrad {
                v.accumulateGrad { g, beta in
                    let dst = SendablePointer(g)
                    parallelChunks(n) { r in
                        let o = r.lowerBound
                        if beta == 0 { (dst.pointer + o).update(from: src.pointer + o, count: r.count) } else { axpy(1, src.pointer + o, dst.pointer + o, r.count) }
                    }
                }
            }
        } }
        return out
    }
}
