import Seeds

/// Counter-based dropout masks: element `i` of a mask seeded with `seed` is kept iff
/// `hash(seed, i)` falls above `p`. Nothing is stored or consumed, so the backward pass, a recompute
/// segment and a resumed run all regenerate exactly the same mask from `(seed, i)`.
public enum DropoutMask {
    /// The mask's uniform for element `index` (``counterUniform(seed:index:)``).
    @inline(__always)
    public static func uniform(seed: UInt64, index: Int) -> Float { counterUniform(seed: seed, index: index) }

    /// `dst[i] = keep(i) ? src[i] / (1 − p) : 0`.
    public static func apply(seed: UInt64, p: Float, _ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        let s = 1 / (1 - p)
        for i in 0..<count { dst[i] = uniform(seed: seed, index: i) >= p ? src[i] * s : 0 }
    }
}
