/// SplitMix64 (Steele, Lea & Flood 2014; the generator Java's `SplittableRandom` and xoshiro seeding use):
/// `state += 0x9E3779B97F4A7C15`, then ``mix64(_:)`` of the state. Fixed and documented so that data order
/// is reproducible across platforms and Swift versions (no library generator: their algorithms may change).
public struct SplitMix64: RandomNumberGenerator, Sendable, Equatable {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return mix64(state)
    }

    /// A uniform integer in `0..<bound`, unbiased: Lemire's multiply-shift with rejection
    /// ("Fast Random Integer Generation in an Interval", 2019). Returns 0 without drawing when bound ≤ 1.
    public mutating func next(below bound: UInt64) -> UInt64 {
        if bound <= 1 { return 0 }
        var product = next().multipliedFullWidth(by: bound)
        if product.low < bound {
            let threshold = (0 &- bound) % bound
            while product.low < threshold {
                product = next().multipliedFullWidth(by: bound)
            }
        }
        return product.high
    }
}

/// SplitMix64's output function (a bijective 64-bit mixer; constants from Stafford's "Mix13").
@inline(__always)
public func mix64(_ x: UInt64) -> UInt64 {
    var z = x
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}
