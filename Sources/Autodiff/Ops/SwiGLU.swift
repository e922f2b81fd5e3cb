import Tensors

extension Tape {
    /// SwiGLU product `h = silu(g) ⊙ u`, `silu(z) = z·σ(z)`, same shapes.
    /// Backward: `du = dh ⊙ silu(g)`, `dg = dh ⊙ u ⊙ σ(g)·(1 + g·(1 − σ(g)))`.
    /// Saves: `gate` and `up` (their values are read again in backward).
    public func swiglu(gate: Variable, up: Variable) -> Variable {
        precondition(gate.value.count == up.value.count, "swiglu: gate \(gate.shape) and up \(up.shape) differ")
        let n = gate.value.count
        let h = Tensor(uninitialized: gate.shape)
        let gp = gate.value.data, upp = up.value.data, hp = SendablePointer(h.data)
        WorkProfile.measure(.elementwise) { parallelChunks(n) { range in
            var i = range.lowerBound
            let one = V16(repeating: 1)
            while i + 16 <= range.upperBound {
                let g = load16(gp + i)
                let sig = one / (one + exp16(-g))
                store16(hp.pointer + i, g * sig * load16(upp + i))
                i += 16
            }
            while i < range.upperBound {
                let g = gp[i]
                let sig = 1 / (1 + expScalar(-g))
                hp.pointer[i] = g * sig * upp[i]
                i += 1
            }
        } }
        let out = Variable(h, requiresGrad: gate.requiresGrad || up.requiresGrad)
        record(out) { [gate, up] dh in WorkProfile.measure(.elementwise) {
            let gp = gate.value.data, upp = up.value.data
            let dgT = gate.requiresGrad ? Tensor(uninitialized: gate.shape) : nil
            let duT = up.requiresGrad ? Tensor(uninitialized: up.shape) : nil
            let dg = dgT.map { SendablePointer($0.data) }, du = duT.map { SendablePointer($0.data) }
            let dhp = dh.data
            parallelChunks(n) { range in
                let one = V16(repeating: 1)
                var i = range.lowerBound
                while i + 16 <= range.upperBound {
                    let g = load16(gp + i), u = load16(upp + i), d = load16(dhp + i)
                    let sig = one / (one + exp16(-g))
                    if let du { store16(du.pointer + i, d * g * sig) }
                    if let dg { store16(dg.pointer + i, d * u * sig * (one + g * (one - sig))) }
                    i += 16
                }
                while i < range.upperBound {
                    let g = gp[i], u = upp[i], d = dhp[i]
                    let sig = 1 / (1 + expScalar(-g))
                    du?.pointer[i] = d * g * sig
                    dg?.pointer[i] = d * u * sig * (1 + g * (1 - sig))
                    i += 1
                }
            }
            if let dgT { gate.accumulateGrad { g, beta in beta == 0 ? g.update(from: dgT.data, count: n) : axpy(1, dgT.data, g, n) } }
            if let duT { up.accumulateGrad { g, beta in beta == 0 ? g.update(from: duT.data, count: n) : axpy(1, duT.data, g, n) } }
        } }
        return out
    }
}
