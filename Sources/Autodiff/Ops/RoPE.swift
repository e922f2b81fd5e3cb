import Tensors

extension Tape {
    /// Rotary position embedding, rotate-half convention (HF/mlx `traditional=false`, docs/formats.md, RoPE):
    /// within each head, dimension j pairs with j + d/2:
    /// `x'[j] = x[j]·cos − x[j+d/2]·sin`, `x'[j+d/2] = x[j+d/2]·cos + x[j]·sin`.
    ///
    /// x `[N, heads·d]`; `cos`, `sin` `[N, d/2]` give each row's angles, so the caller decides positions
    /// (restarting per packed document) and frequencies (llama3 scaling). Backward rotates by −θ.
    public func rope(_ x: Variable, heads: Int, headDim d: Int, cos: Tensor, sin: Tensor) -> Variable {
        let n = x.value.rows, half = d / 2
        precondition(x.value.columns == heads * d, "rope: x \(x.shape) is not [N, \(heads)·\(d)]")
        precondition(cos.count == n * half && sin.count == n * half, "rope: tables must be [\(n), \(half)]")
        let y = Tensor(uninitialized: x.shape)
        WorkProfile.measure(.elementwise) {
            Self.rotate(x.value.data, y.data, rows: n, heads: heads, d: d, cos: cos.data, sin: sin.data, sign: 1, accumulate: false)
        }
        let out = Variable(y, requiresGrad: x.requiresGrad)
        record(out) { dy in WorkProfile.measure(.elementwise) {
            x.accumulateGrad { dx, beta in
                Self.rotate(dy.data, dx, rows: n, heads: heads, d: d, cos: cos.data, sin: sin.data, sign: -1, accumulate: beta != 0)
            }
        } }
        return out
    }

    /// `dst (+)= rotate(src, sign·θ)`.
    static func rotate(
        _ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, rows: Int, heads: Int, d: Int,
        cos: UnsafePointer<Float>, sin: UnsafePointer<Float>, sign: Float, accumulate: Bool
    ) {
        let half = d / 2
        for t in 0..<rows {
            let c = cos + t * half, s = sin + t * half
            for h in 0..<heads {
                let xi = src + (t * heads + h) * d, yi = dst + (t * heads + h) * d
                for j in 0..<half {
                    let a = xi[j], b = xi[j + half]
                    let sj = sign * s[j]
                    let lo = a * c[j] - b * sj
                    let hi = b * c[j] + a * sj
                    if accumulate { yi[j] += lo; yi[j + half] += hi } else { yi[j] = lo; yi[j + half] = hi }
                }
            }
        }
    }
}
