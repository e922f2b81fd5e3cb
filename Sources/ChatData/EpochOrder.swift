import Seeds
/// The order in which an epoch visits `count` examples: a pure function of (seed, epoch).
///
/// `perm_e = FisherYates(0..<count, SplitMix64(epochSeed(seed, epoch)))` (REFERENCE §8). The trainer keeps
/// only a cursor (epoch, index of the next micro-batch) and recomputes this on resume; nothing is consumed
/// while skipping.
public func epochOrder(count: Int, seed: UInt64, epoch: Int) -> [Int] {
    guard count > 0 else { return [] }
    var order = Array(0..<count)
    var rng = SplitMix64(seed: epochSeed(seed: seed, epoch: epoch))
    fisherYatesShuffle(&order, using: &rng)
    return order
}

/// The generator seed of one epoch: `mix64(seed ^ mix64(UInt64(bitPattern: epoch) &+ 0x9E3779B97F4A7C15))`.
/// Mixing the epoch first makes neighbouring (seed, epoch) pairs give unrelated streams.
public func epochSeed(seed: UInt64, epoch: Int) -> UInt64 {
    mix64(seed ^ mix64(UInt64(bitPattern: Int64(epoch)) &+ 0x9E37_79B9_7F4A_7C15))
}
