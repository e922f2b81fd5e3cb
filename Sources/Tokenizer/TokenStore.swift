/// The byte string of every token id, and a hash index from byte string to id.
///
/// Immutable after `init`; the buffers are plain memory (no Swift arrays in the hot path, see
/// docs/architecture.md, Swift performance facts), so concurrent reads from many threads are safe.
final class TokenStore: @unchecked Sendable {
    /// Number of ids (the largest id + 1). Ids without a token have an empty byte string.
    let count: Int
    private let storage: UnsafeMutableBufferPointer<UInt8>
    /// `offsets[id] ..< offsets[id + 1]` is the token's range in `storage`.
    private let offsets: UnsafeMutableBufferPointer<Int>
    private let present: UnsafeMutableBufferPointer<Bool>
    /// Open addressing, linear probing; load factor ≤ 0.5. Each 16-byte slot holds the token's first 8
    /// bytes (zero-padded) and `id + 1 | length << 32 | hash tag << 48`, so a lookup of a token of up to 8
    /// bytes (most of them) touches one cache line; longer ones also compare the rest in `storage`.
    /// `meta == 0` marks an empty slot.
    private let slots: UnsafeMutablePointer<Slot>
    private let mask: Int

    struct Slot {
        var prefix: UInt64
        var meta: UInt64
    }

    /// - Parameters:
    ///   - tokens: `tokens[id]` is the token's bytes, or nil when no token has this id.
    ///   - indexed: whether `lookup` may return the id. Special and unreachable tokens are stored for
    ///     decoding only. Byte strings must be unique among indexed ids (checked by the loaders).
    init(tokens: [[UInt8]?], indexed: (Int) -> Bool) {
        count = tokens.count
        let total = tokens.reduce(0) { $0 + ($1?.count ?? 0) }
        storage = .allocate(capacity: max(total, 1))
        offsets = .allocate(capacity: count + 1)
        present = .allocate(capacity: max(count, 1))
        var capacity = 16
        while capacity < 2 * count { capacity <<= 1 }       // load factor ≤ 0.5
        slots = .allocate(capacity: capacity)
        slots.initialize(repeating: Slot(prefix: 0, meta: 0), count: capacity)
        mask = capacity - 1

        var position = 0
        for id in 0..<count {
            offsets[id] = position
            present[id] = tokens[id] != nil
            if let bytes = tokens[id] {
                for b in bytes { storage[position] = b; position += 1 }
            }
        }
        offsets[count] = position
        for id in 0..<count where tokens[id] != nil && !tokens[id]!.isEmpty && indexed(id) {
            let p = storage.baseAddress! + offsets[id]
            let n = offsets[id + 1] - offsets[id]
            let (h, prefix) = TokenStore.hash(p, n)
            var slot = Int(truncatingIfNeeded: h) & mask
            while slots[slot].meta != 0 { slot = (slot + 1) & mask }
            slots[slot] = Slot(prefix: prefix, meta: TokenStore.meta(hash: h, length: n) | UInt64(id + 1))
        }
    }

    deinit {
        storage.deallocate()
        offsets.deallocate()
        present.deallocate()
        slots.deallocate()
    }

    /// Whether `id` names a token.
    @inline(__always) func contains(_ id: Int) -> Bool { id >= 0 && id < count && present[id] }

    /// The token's bytes (empty for an unknown id). Valid as long as the store lives.
    @inline(__always) func bytes(of id: Int) -> UnsafeBufferPointer<UInt8> {
        guard id >= 0 && id < count else { return UnsafeBufferPointer(start: nil, count: 0) }
        return UnsafeBufferPointer(rebasing: storage[offsets[id] ..< offsets[id + 1]])
    }

    /// Bits 32…63 of a slot's `meta`: the length (16 bits, saturated) and 16 bits of the hash.
    @inline(__always) private static func meta(hash: UInt64, length: Int) -> UInt64 {
        (hash & 0xFFFF_0000_0000_0000) | UInt64(min(length, 0xFFFF)) << 32
    }

    /// The id of the indexed token whose bytes are `p[0..<n]`, or -1.
    @inline(__always) func lookup(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int {
        let (h, prefix) = TokenStore.hash(p, n)
        let check = TokenStore.meta(hash: h, length: n)
        var slot = Int(truncatingIfNeeded: h) & mask
        while true {
            let s = slots[slot]
            if s.meta == 0 { return -1 }
            if s.prefix == prefix && s.meta & 0xFFFF_FFFF_0000_0000 == check {
                let id = Int(s.meta & 0xFFFF_FFFF) - 1
                if n <= 8 { return id }
                let start = offsets[id]
                if offsets[id + 1] - start == n && memoryEqual(storage.baseAddress! + start + 8, p + 8, n - 8) { return id }
            }
            slot = (slot + 1) & mask
        }
    }

    func lookup(_ bytes: [UInt8]) -> Int {
        bytes.withUnsafeBufferPointer { b in
            guard let p = b.baseAddress, b.count > 0 else { return -1 }
            return lookup(p, b.count)
        }
    }

    @inline(__always) private func memoryEqual(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        var i = 0
        while i + 8 <= n {
            if UnsafeRawPointer(a + i).loadUnaligned(as: UInt64.self) != UnsafeRawPointer(b + i).loadUnaligned(as: UInt64.self) { return false }
            i += 8
        }
        while i < n {
            if a[i] != b[i] { return false }
            i += 1
        }
        return true
    }

    /// A fast non-cryptographic hash of a byte string (8 bytes per step, splitmix-style mixing), and its
    /// first 8 bytes as a little-endian word, zero-padded.
    @inline(__always) static func hash(_ p: UnsafePointer<UInt8>, _ n: Int) -> (hash: UInt64, prefix: UInt64) {
        var h = UInt64(truncatingIfNeeded: n) &* 0x9E37_79B9_7F4A_7C15
        var prefix: UInt64 = 0
        var i = 0
        while i + 8 <= n {
            let word = UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)
            if i == 0 { prefix = word }
            h = (h ^ word) &* 0xBF58_476D_1CE4_E5B9
            h ^= h >> 31
            i += 8
        }
        if i < n {
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while i < n {
                tail |= UInt64(p[i]) << shift
                shift += 8
                i += 1
            }
            if n < 8 { prefix = tail }
            h ^= tail
        }
        h = h &* 0x94D0_49BB_1331_11EB
        h ^= h >> 29
        h = h &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 32
        return (h, prefix)
    }
}
