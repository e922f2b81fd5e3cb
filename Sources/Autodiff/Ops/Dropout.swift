import Seeds
import Tensors

/// Counter-based dropout masks: element `i` of a mask seeded with `seed` is kept iff
/// `hash(seed, i)` falls above `p`. Nothing is stored or consumed, so the backward pass, a recompute
/// segment and a resumed run all regenerate exactly the same mask from `(seed, i)`.
public enum DropoutMask {
    /// The mask's uniform for element `index` (``counterUniform(seed:index:)``).
    @inline(__always)
    public static func uniform(seed: UInt64, index: Int) -> Float { counterUniform(seed: seed, index: index) }

    /// `dst[i] = keep(start + i) ? src[i] / (1 − p) : 0` for `i < count`: elements `start..<start+count`
    /// of a masked tensor (`src` may be `dst`). With AVX-512F eight elements per step on every worker
    /// (the same bits; `applyScalar` is the definition).
    public static func apply(seed: UInt64, p: Float, _ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, count: Int,
                             start: Int = 0) {
        let s = 1 / (1 - p)
        guard CPUInfo.current.avx512f else {
            applyScalar(seed: seed, p: p, src, dst, count: count, start: start)
            return
        }
        parallelChunks(count, minimumPerChunk: 65536) { range in
            dropoutMaskAVX512(seed: seed, start: start + range.lowerBound, p: p, scale: s, src + range.lowerBound, dst + range.lowerBound,
                              count: range.count)
        }
    }

    /// `apply` one element at a time, on any CPU.
    public static func applyScalar(seed: UInt64, p: Float, _ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, count: Int,
                                   start: Int = 0) {
        let s = 1 / (1 - p)
        for i in 0..<count { dst[i] = uniform(seed: seed, index: start + i) >= p ? src[i] * s : 0 }
    }
}
