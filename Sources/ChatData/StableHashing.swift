import Foundation
// ChatData's public API hands out SplitMix64 (`fisherYatesShuffle(_:using:)`), so its importers get
// the Seeds module with it.
@_exported import Seeds

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
