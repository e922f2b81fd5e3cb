import CKernels
import Tensors

extension Tape {
    /// SwiGLU product `h = silu(g) ⊙ u`, `silu(z) = z·σ(z)`, same shapes.
    /// Backward: `du = dh ⊙ silu(g)`, `dg = dh ⊙ u ⊙ σ(g)·(1 + g·(1 − σ(g)))`.
    /// Saves: `gate` and `up` (their values are read again in backward).
    public func swiglu(gate: Variable, up: Variable) -> Variable {
        precondition(gate.value.count == up.value.count, "swiglu: gate \(gate.shape) and up \(up.shape) differ")
        let h = Tensor(uninitialized: gate.shape)
        WorkProfile.measure(.elementwise) { Self.swigluForward(gate: gate.value, up: up.value, into: h) }
        let out = Variable(h, requiresGrad: gate.requiresGrad || up.requiresGrad)
        record(out) { [gate, up] dh in WorkProfile.measure(.elementwise) { Self.swigluBackward(gate: gate, up: up, dh: dh) } }
        return out
    }

    // Where the CPU has AVX-512F (`avx512`), C kernels perform the same fp32 operations as the Swift
    // loops 16 lanes wide: bit-identical (SwiGLUKernelTests), so fp32 runs take them too.

    static func swigluForward(gate: Tensor, up: Tensor, into h: Tensor, avx512: Bool = CPUInfo.current.avx512f) {
        let gp = SendablePointer(gate.data), upp = SendablePointer(up.data), hp = SendablePointer(h.data)
        parallelChunks(gate.count) { range in
            let gp = gp.pointer, upp = upp.pointer, hp = hp.pointer
            if avx512 {
                ck_swiglu_forward_avx512(gp + range.lowerBound, upp + range.lowerBound, hp + range.lowerBound, range.count)
                return
            }
            var i = range.lowerBound
            let one = V16(repeating: 1)
            while i + 16 <= range.upperBound {
                let g = load16(gp + i)
                let sig = one / (one + exp16(-g))
                store16(hp + i, g * sig * load16(upp + i))
                i += 16
            }
            while i < range.upperBound {
                let g = gp[i]
                let sig = 1 / (1 + expScalar(-g))
                hp[i] = g * sig * upp[i]
                i += 1
            }
        }
    }

    /// Adds the gradients of `gate` and `up` (those that require one) given `dh`.
    static func swigluBackward(gate: Variable, up: Variable, dh: Tensor, avx512: Bool = CPUInfo.current.avx512f) {
        let n = gate.value.count
        let gp = SendablePointer(gate.value.data), upp = SendablePointer(up.value.data), dhp = SendablePointer(dh.data)
        if avx512 && gate !== up {
            // Straight into the gradients: no temporaries, no copies.
            func run(dg: UnsafeMutablePointer<Float>?, betaG: Float, du: UnsafeMutablePointer<Float>?, betaU: Float) {
                let dgp = dg.map(SendablePointer.init), dup = du.map(SendablePointer.init)
                parallelChunks(n) { r in
                    let o = r.lowerBound
                    ck_swiglu_backward_avx512(gp.pointer + o, upp.pointer + o, dhp.pointer + o, dgp.map { $0.pointer + o }, betaG == 0 ? 0 : 1,
                                              dup.map { $0.pointer + o }, betaU == 0 ? 0 : 1, r.count)
                }
            }
            switch (gate.requiresGrad, up.requiresGrad) {
            case (true, true):
                gate.accumulateGrad { dg, betaG in up.accumulateGrad { du, betaU in run(dg: dg, betaG: betaG, du: du, betaU: betaU) } }
            case (true, false): gate.accumulateGrad { dg, betaG in run(dg: dg, betaG: betaG, du: nil, betaU: 0) }
            case (false, true): up.accumulateGrad { du, betaU in run(dg: nil, betaG: 0, du: du, betaU: betaU) }
            case (false, false): break
            }
            return
        }
        let dgT = gate.requiresGrad ? Tensor(uninitialized: gate.shape) : nil
        let duT = up.requiresGrad ? Tensor(uninitialized: up.shape) : nil
        let dg = dgT.map { SendablePointer($0.data) }, du = duT.map { SendablePointer($0.data) }
        parallelChunks(n) { range in
            let gp = gp.pointer, upp = upp.pointer, dhp = dhp.pointer
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
    }
}
