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
        WorkProfile.measure(.norms) { Self.rmsNormForward(x.value, weight: weight, eps: eps, y: y, rho: rho) }
        let out = Variable(y, requiresGrad: x.requiresGrad)
        record(out) { dy in WorkProfile.measure(.norms) {
            // Capture the tensors (not only their pointers) so their storage outlives the forward pass.
            x.accumulateGrad { dx, beta in Self.rmsNormBackward(x.value, weight: weight, rho: rho, dy: dy, dx: dx, accumulate: beta != 0) }
        } }
        return out
    }

    // Rows are split across the workers and each row's loops run 16 lanes at a time: the same operations
    // per element, in the same order, as one at a time (the row sums are `dot`'s either way).

    static func rmsNormForward(_ x: Tensor, weight: Tensor, eps: Float, y: Tensor, rho: Tensor) {
        let c = x.columns
        let xp = SendablePointer(x.data), wp = SendablePointer(weight.data), yp = SendablePointer(y.data), rp = SendablePointer(rho.data)
        parallelChunks(x.rows, minimumPerChunk: max(1, 16384 / max(c, 1))) { rows in
            let wp = wp.pointer
            for row in rows {
                let xr = xp.pointer + row * c, yr = yp.pointer + row * c
                let r = 1 / (dot(xr, xr, c) / Float(c) + eps).squareRoot()
                rp.pointer[row] = r
                let vr = V16(repeating: r)
                var i = 0
                while i + 16 <= c { store16(yr + i, load16(wp + i) * (load16(xr + i) * vr)); i += 16 }
                while i < c { yr[i] = wp[i] * (xr[i] * r); i += 1 }
            }
        }
    }

    static func rmsNormBackward(_ x: Tensor, weight: Tensor, rho: Tensor, dy: Tensor, dx: UnsafeMutablePointer<Float>, accumulate: Bool) {
        let c = x.columns
        let xp = SendablePointer(x.data), wp = SendablePointer(weight.data), rp = SendablePointer(rho.data)
        let dyp = SendablePointer(dy.data), dxp = SendablePointer(dx)
        parallelChunks(x.rows, minimumPerChunk: max(1, 16384 / max(c, 1))) { rows in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: max(c, 1)) { gBuffer in
                let g = gBuffer.baseAddress!, wp = wp.pointer
                for row in rows {
                    let xr = xp.pointer + row * c, dyr = dyp.pointer + row * c, dxr = dxp.pointer + row * c
                    var i = 0
                    while i + 16 <= c { store16(g + i, load16(wp + i) * load16(dyr + i)); i += 16 }
                    while i < c { g[i] = wp[i] * dyr[i]; i += 1 }
                    let r = rp.pointer[row]
                    let k = r * r * r / Float(c) * dot(g, xr, c)
                    let vr = V16(repeating: r), vk = V16(repeating: k)
                    i = 0
                    if accumulate {
                        while i + 16 <= c { store16(dxr + i, load16(dxr + i) + (vr * load16(g + i) - vk * load16(xr + i))); i += 16 }
                        while i < c { dxr[i] += r * g[i] - k * xr[i]; i += 1 }
                    } else {
                        while i + 16 <= c { store16(dxr + i, vr * load16(g + i) - vk * load16(xr + i)); i += 16 }
                        while i < c { dxr[i] = r * g[i] - k * xr[i]; i += 1 }
                    }
                }
            }
        }
    }
}
