/// Counter-based dropout masks: element `i` of a mask seeded with `seed` is kept iff
/// `hash(seed, i)` falls above `p`. Nothing is stored or consumed, so the backward pass, a recompute
/// segment and a resumed run all regenerate exactly the same mask from `(seed, i)`.
public enum DropoutMask {
    /// SplitMix64 finaliser applied to `seed + i·golden` (Steele et al., "Fast splittable PRNGs").
    @inline(__always)
    public static func uniform(seed: UInt64, index: Int) -> Float {
        var z = seed &+ UInt64(truncatingIfNeeded: index) &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z = z ^ (z >> 31)
        return Float(z >> 40) * (1.0 / 16_777_216.0)  // 24 random bits → [0, 1)
    }

    /// `dst[i] = keep(i) ? src[i] / (1 − p) : 0`.
    public static func apply(seed: UInt64, p: Float, _ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        let s = 1 / (1 - p)
        for i in 0..<count { dst[i] = uniform(seed: seed, index: i) >= p ? src[i] * s : 0 }
    }
}
