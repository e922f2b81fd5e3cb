import Foundation
/// SplitMix64 (Steele, Lea & Flood 2014; the generator Java's `SplittableRandom` and xoshiro seeding use):
/// `state += 0x9E3779B97F4A7C15`, then ``mix64(_:)`` of the state. Fixed and documented so that data order
/// is reproducible across platforms and Swift versions (REFERENCE §8: no library shuffle).
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
public func mix64(_ x: UInt64) -> UInt64 {
    var z = x
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}

/// 64-bit FNV-1a of UTF-8 bytes: a stable string hash (Swift's `hashValue` is randomly seeded per process).
public func fnv1a64(_ text: String) -> UInt64 {
    var hasher = FNV1a64()
    hasher.add(bytes: text.utf8)
    return hasher.value
}

/// Streaming 64-bit FNV-1a, for fingerprints that must be stable across processes and runs (data,
/// recipes, model files). `add(word:)` folds a whole 64-bit value in one step.
public struct FNV1a64: Sendable {
    public private(set) var value: UInt64 = 0xCBF2_9CE4_8422_2325
    public init() {}

    public mutating func add<S: Sequence>(bytes: S) where S.Element == UInt8 {
        for b in bytes { add(word: UInt64(b)) }
    }

    public mutating func add(word: UInt64) {
        value = (value ^ word) &* 0x0000_0100_0000_01B3
    }

    /// The value as 16 hex digits.
    public var hex: String { String(format: "%016llx", value) }
}

/// In-place Fisher–Yates (Durstenfeld): for i = n−1 down to 1, swap element i with a uniform j in 0...i.
public func fisherYatesShuffle<T>(_ items: inout [T], using rng: inout SplitMix64) {
    guard items.count > 1 else { return }
    for i in stride(from: items.count - 1, through: 1, by: -1) {
        let j = Int(rng.next(below: UInt64(i + 1)))
        items.swapAt(i, j)
    }
}
