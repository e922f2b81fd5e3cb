/// BPE merge rules: (left id, right id) → (priority, merged id). Lower priority merges first.
///
/// For a tiktoken file the priority of a pair is the rank of the concatenated bytes, which is also the
/// merged id; for tokenizer.json it is the index of the merge in `model.merges` (docs/formats.md, Tokenizer).
/// Immutable after `init`; read concurrently without locks.
final class PairTable: @unchecked Sendable {
    /// `lookup` result when the pair does not merge. Compares greater than every real entry.
    static let none: UInt64 = .max

    let count: Int
    /// Open addressing, linear probing; key and value share a slot (one cache line per probe).
    private let slots: UnsafeMutablePointer<Slot>
    private let mask: Int
    private let shift: UInt64

    struct Slot {
        /// `left << 32 | right`; `UInt64.max` when empty.
        var key: UInt64
        var value: UInt64
    }

    struct Rule {
        var left: UInt32
        var right: UInt32
        var priority: UInt32
        var merged: UInt32
    }

    /// A later rule for the same pair replaces an earlier one (as a Rust HashMap built from the list does).
    init(rules: [Rule]) {
        var capacity = 16
        var bits: UInt64 = 4
        while capacity * 3 < rules.count * 5 { capacity <<= 1; bits += 1 }   // load factor ≤ 0.6
        slots = .allocate(capacity: capacity)
        slots.initialize(repeating: Slot(key: .max, value: PairTable.none), count: capacity)
        shift = 64 - bits
        mask = capacity - 1
        var distinct = 0
        for rule in rules {
            let key = UInt64(rule.left) << 32 | UInt64(rule.right)
            var slot = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
            while slots[slot].key != .max && slots[slot].key != key { slot = (slot + 1) & mask }
            if slots[slot].key == .max { distinct += 1 }
            slots[slot] = Slot(key: key, value: UInt64(rule.priority) << 32 | UInt64(rule.merged))
        }
        count = distinct
    }

    deinit {
        slots.deallocate()
    }

    /// `priority << 32 | merged`, or `PairTable.none`. Comparing packed values orders by priority: equal
    /// priorities always carry equal merged ids (tiktoken: priority = merged id; tokenizer.json: one rule
    /// per priority), so ties stay ties and the leftmost pair wins, as in the references.
    @inline(__always) func lookup(_ left: UInt32, _ right: UInt32) -> UInt64 {
        let key = UInt64(left) << 32 | UInt64(right)
        var slot = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
        while true {
            let s = slots[slot]
            if s.key == key { return s.value }
            if s.key == .max { return PairTable.none }
            slot = (slot + 1) & mask
        }
    }
}
