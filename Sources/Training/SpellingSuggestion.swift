/// The closest candidate within a small edit distance (a plausible typo), for "did you mean" hints in
/// recipe errors and on the command line.
public func spellingSuggestion(for word: String, among candidates: [String]) -> String? {
    func distance(_ a: String, _ b: String) -> Int {
        let x = Array(a.lowercased()), y = Array(b.lowercased())
        if x.isEmpty || y.isEmpty { return max(x.count, y.count) }
        var prev = Array(0...y.count), cur = prev
        for i in 1...x.count {
            cur[0] = i
            for j in 1...y.count { cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1)) }
            swap(&prev, &cur)
        }
        return prev[y.count]
    }
    let scored = candidates.map { ($0, distance(word, $0)) }.filter { $0.1 <= max(2, $0.0.count / 3) }
    return scored.min { $0.1 < $1.1 }?.0
}
