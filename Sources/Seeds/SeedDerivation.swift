/// The counter-based uniform: value `index` of the stream named by `seed`, in [0, 1) with 24 random
/// bits, as `mix64(seed + index·φ)` (φ = 0x9E3779B97F4A7C15, SplitMix64's increment). Nothing is
/// stored or consumed, so a dropout mask, an initial value or a sampling draw is recomputed exactly
/// from `(seed, index)`: in a pullback, in a recomputed segment, after a resume.
@inline(__always)
public func counterUniform(seed: UInt64, index: Int) -> Float {
    let z = mix64(seed &+ UInt64(truncatingIfNeeded: index) &* 0x9E37_79B9_7F4A_7C15)
    return Float(z >> 40) * (1.0 / 16_777_216.0)
}

/// The seed of one use of `base`, named by `parts` (layer, projection, step, micro-batch, …). Each part
/// is folded in through SplitMix64's mixer, so bases and parts that differ by one give unrelated
/// streams. Every seed the trainer derives goes through here.
public func deriveSeed(_ base: UInt64, _ parts: Int...) -> UInt64 {
    var z = mix64(base)
    for part in parts { z = mix64((z &+ 0x9E37_79B9_7F4A_7C15) ^ UInt64(bitPattern: Int64(part))) }
    return z
}
