import Tensors

extension Tape {
    /// RMSNorm with a frozen weight: `y_i = w_i · x_i · ρ`, `ρ = 1/sqrt(mean(x²) + eps)` per row
    /// (LlamaRMSNorm: no mean subtraction, no bias; normalise in fp32, then multiply by w).
    /// x `[N, C]`, w `[C]`. Backward with `g = w ⊙ dy`: `dx = ρ·g − (ρ³/C)·x·Σ(g⊙x)`.
    public func rmsNorm(_ x: Variable, weight: Tensor, eps: Float) -> Variable {
        let n = x.value.rows, c = x.value.columns
        precondition(weight.count == c, "rmsNorm: weight has \(weight.count) elements, rows have \(c)")
        let y = Tensor(uninitialized: x.shape)
        let rho = Tensor(uninitialized: [n])
        let xp = x.value.data, wp = weight.data, yp = y.data, rp = rho.data
        WorkProfile.measure(.norms) {
            for row in 0..<n {
                let xr = xp + row * c
                let r = 1 / (dot(xr, xr, c) / Float(c) + eps).squareRoot()
                rp[row] = r
                let yr = yp + row * c
                for i in 0..<c { yr[i] = wp[i] * (xr[i] * r) }
            }
        }
        let out = Variable(y, requiresGrad: x.requiresGrad)
        record(out) { dy in WorkProfile.measure(.norms) {
            // Capture the tensors (not only their pointers) so their storage outlives the forward pass.
            let xp = x.value.data, wp = weight.data, rp = rho.data
            x.accumulateGrad { dx, beta in
                let g = Tensor(uninitialized: [c])
                for row in 0..<n {
                    let xr = xp + row * c, dyr = dy.data + row * c, dxr = dx + row * c
                    for i in 0..<c { g[i] = wp[i] * dyr[i] }
                    let r = rp[row]
                    let k = r * r * r / Float(c) * dot(g.data, xr, c)
                    if beta == 0 {
                        for i in 0..<c { dxr[i] = r * g[i] - k * xr[i] }
                    } else {
                        for i in 0..<c { dxr[i] += r * g[i] - k * xr[i] }
                    }
                }
            }
        } }
        return out
    }
}
