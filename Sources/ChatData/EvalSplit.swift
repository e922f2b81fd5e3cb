import Seeds
/// Which records go to the evaluation set when it is split off the training file (`eval_fraction`).
///
/// Deterministic in (categories in record order, fraction, seed), stratified by category:
/// 1. E = round(fraction · n), at least 1 and at most n − 1 when fraction > 0 and n ≥ 2.
/// 2. E is shared among categories (nil is a category of its own) in proportion to their sizes by the
///    largest-remainder method; ties go to the category that sorts first (nil first).
/// 3. Within a category, the records taken are the first k of `FisherYates(members, SplitMix64(mix64(seed ^
///    fnv1a64(category))))`, where `members` lists the category's record positions in order.
///
/// - Returns: one flag per record, true = evaluation. Train and eval are disjoint by construction.
public func evalSelection(categories: [String?], fraction: Double, seed: UInt64) -> [Bool] {
    let n = categories.count
    var isEval = [Bool](repeating: false, count: n)
    guard fraction > 0, n >= 2 else { return isEval }
    let total = min(n - 1, max(1, Int((fraction * Double(n)).rounded())))

    var members: [String?: [Int]] = [:]
    for (position, category) in categories.enumerated() { members[category, default: []].append(position) }
    // nil sorts first, then names in byte order: a fixed order for tie-breaks.
    let keys = members.keys.sorted { a, b in
        switch (a, b) {
        case (nil, nil): return false
        case (nil, _): return true
        case (_, nil): return false
        case let (x?, y?): return Array(x.utf8).lexicographicallyPrecedes(Array(y.utf8))
        }
    }
    var quota: [Int] = []
    var remainders: [(remainder: Double, index: Int)] = []
    for (index, key) in keys.enumerated() {
        let exact = Double(total) * Double(members[key]!.count) / Double(n)
        quota.append(Int(exact.rounded(.down)))
        remainders.append((exact - exact.rounded(.down), index))
    }
    var left = total - quota.reduce(0, +)
    for entry in remainders.sorted(by: { $0.remainder != $1.remainder ? $0.remainder > $1.remainder : $0.index < $1.index }) {
        if left == 0 { break }
        if quota[entry.index] < members[keys[entry.index]]!.count {
            quota[entry.index] += 1
            left -= 1
        }
    }
    for (index, key) in keys.enumerated() where quota[index] > 0 {
        var chosen = members[key]!
        var rng = SplitMix64(seed: mix64(seed ^ fnv1a64(key ?? "")))
        fisherYatesShuffle(&chosen, using: &rng)
        for position in chosen.prefix(quota[index]) { isEval[position] = true }
    }
    return isEval
}
