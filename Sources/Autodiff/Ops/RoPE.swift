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

    /// `dst (+)= rotate(src, sign·θ)`. Rows are split across the workers; within a head, 16 dimensions
    /// at a time (the same operations per element as one at a time, so the same bits).
    static func rotate(
        _ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, rows: Int, heads: Int, d: Int,
        cos: UnsafePointer<Float>, sin: UnsafePointer<Float>, sign: Float, accumulate: Bool
    ) {
        let half = d / 2
        let ptrs = UncheckedPointers(src: src, dst: dst, cos: cos, sin: sin)
        parallelChunks(rows, minimumPerChunk: max(1, 16384 / max(heads * d, 1))) { chunk in
            let (src, dst) = (ptrs.src, ptrs.dst)
            let vsign = V16(repeating: sign)
            for t in chunk {
                let c = ptrs.cos + t * half, s = ptrs.sin + t * half
                for h in 0..<heads {
                    let xi = src + (t * heads + h) * d, yi = dst + (t * heads + h) * d
                    var j = 0
                    while j + 16 <= half {
                        let a = load16(xi + j), b = load16(xi + j + half), cj = load16(c + j)
                        let sj = vsign * load16(s + j)
                        let lo = a * cj - b * sj
                        let hi = b * cj + a * sj
                        if accumulate {
                            store16(yi + j, load16(yi + j) + lo); store16(yi + j + half, load16(yi + j + half) + hi)
                        } else {
                            store16(yi + j, lo); store16(yi + j + half, hi)
                        }
                        j += 16
                    }
                    while j < half {
                        let a = xi[j], b = xi[j + half]
                        let sj = sign * s[j]
                        let lo = a * c[j] - b * sj
                        let hi = b * c[j] + a * sj
                        if accumulate { yi[j] += lo; yi[j + half] += hi } else { yi[j] = lo; yi[j + half] = hi }
                        j += 1
                    }
                }
            }
        }
    }

    /// The pointers `rotate` hands to its workers (each writes its own rows of `dst`).
    private struct UncheckedPointers: @unchecked Sendable {
        let src: UnsafePointer<Float>, dst: UnsafeMutablePointer<Float>, cos: UnsafePointer<Float>, sin: UnsafePointer<Float>
    }
}
