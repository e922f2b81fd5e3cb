import Foundation

/// Byte-level BPE tokenizer for Llama 3 (and GPT-2-style `tokenizer.json` files such as SmolLM2's).
///
/// Loads Meta's tiktoken `tokenizer.model` or a Hugging Face `tokenizer.json` (BPE model, byte-level
/// alphabet). `encode` treats all text as plain text: special-token strings such as `<|eot_id|>` are split
/// and merged like any other text (REFERENCE §2.6); chat code inserts special tokens by id.
///
/// Immutable after loading: one instance may be used from any number of threads at once (all per-call
/// state lives on the caller's stack; there is no shared cache).
///
/// Limitations: no normalizers, no SentencePiece / WordPiece / Unigram models, no `byte_fallback`,
/// no `add_prefix_space`; added tokens are never matched inside text.
public final class Tokenizer: @unchecked Sendable {
    /// Which kind of file the tokenizer was loaded from.
    public enum Format: String, Sendable {
        case tiktoken
        case tokenizerJSON
        /// Plain arrays (`Tokenizer.byteLevelBPE`), e.g. from a GGUF file's metadata.
        case vocabularyArrays
    }

    /// Number of ids: base vocabulary plus special / added tokens (128256 for Llama 3).
    public let vocabularySize: Int
    /// The file the tokenizer was read from.
    public let sourcePath: String
    public let format: Format
    /// Whether a pre-token that is itself in the vocabulary maps straight to its id (tiktoken always;
    /// tokenizer.json `model.ignore_merges`).
    public let ignoresMerges: Bool
    /// The pre-tokenizer's splitting steps, in order.
    public let preTokenizer: [PreTokenizerStep]
    /// Id of `<|begin_of_text|>` if the tokenizer has it (128000 for Llama 3).
    public var bosID: Int? { specialTokenID("<|begin_of_text|>") }

    let store: TokenStore
    let pairs: PairTable
    private let byteIDs: UnsafeMutablePointer<Int32>
    private let bytePairs: UnsafeMutablePointer<UInt64>
    private let idsByName: [String: Int]
    private let namesByID: [Int: String]
    private let specialIDs: Set<Int>

    /// A token that is not produced by BPE: Llama 3's special tokens, or a tokenizer.json added token.
    struct AddedToken {
        var id: Int
        var content: String
        var special: Bool
    }

    /// - Parameters:
    ///   - store: bytes of every id; BPE-reachable tokens indexed.
    ///   - added: tokens decoded and named by their content.
    init(store: TokenStore, pairs: PairTable, added: [AddedToken], ignoresMerges: Bool,
         preTokenizer: [PreTokenizerStep], format: Format, sourcePath: String) {
        self.store = store
        self.pairs = pairs
        self.ignoresMerges = ignoresMerges
        self.preTokenizer = preTokenizer
        self.format = format
        self.sourcePath = sourcePath
        vocabularySize = store.count
        byteIDs = .allocate(capacity: 256)
        for b in 0..<256 {
            var byte = UInt8(b)
            byteIDs[b] = Int32(store.lookup(&byte, 1))
        }
        bytePairs = .allocate(capacity: 1 << 16)
        for a in 0..<256 {
            for b in 0..<256 {
                let (left, right) = (byteIDs[a], byteIDs[b])
                bytePairs[a << 8 | b] = left >= 0 && right >= 0 ? pairs.lookup(UInt32(left), UInt32(right)) : PairTable.none
            }
        }
        var idsByName: [String: Int] = [:]
        var namesByID: [Int: String] = [:]
        var specialIDs: Set<Int> = []
        for token in added {
            if idsByName[token.content] == nil { idsByName[token.content] = token.id }
            namesByID[token.id] = token.content
            if token.special { specialIDs.insert(token.id) }
        }
        self.idsByName = idsByName
        self.namesByID = namesByID
        self.specialIDs = specialIDs
    }

    deinit {
        byteIDs.deallocate()
        bytePairs.deallocate()
    }

    // MARK: Encoding

    /// Plain text → ids. Special-token text is ordinary text. Adds no BOS/EOS.
    public func encode(_ text: String) -> [Int] {
        var text = text
        return text.withUTF8 { encode(utf8: $0) }
    }

    /// Valid UTF-8 bytes → ids (the caller guarantees validity, e.g. a String's storage).
    func encode(utf8: UnsafeBufferPointer<UInt8>) -> [Int] {
        let n = utf8.count
        guard n > 0 else { return [] }
        let classes = UnsafeMutablePointer<UInt8>.allocate(capacity: n + 1)
        let starts = UnsafeMutablePointer<Int>.allocate(capacity: n + 1)
        defer {
            classes.deallocate()
            starts.deallocate()
        }
        let text = ScalarClass.basicPlane.withUnsafeBufferPointer { table in
            ClassifiedText(utf8: utf8, classes: classes, starts: starts, table: table.baseAddress!)
        }
        var out: [Int] = []
        out.reserveCapacity(n / 3 + 8)
        let workspace = MergeWorkspace()
        let merger = self.merger
        split(level: 0, from: 0, to: text.count, text, merger, workspace, &out)
        return out
    }

    /// The merge step over this tokenizer's tables (valid while the tokenizer lives).
    var merger: BytePairMerger { BytePairMerger(pairs: pairs, bytePairs: bytePairs, byteIDs: byteIDs) }

    /// Applies pre-tokenizer step `level` to scalars [start, end); after the last step, encodes the piece.
    private func split(level: Int, from start: Int, to end: Int, _ text: ClassifiedText, _ merger: BytePairMerger,
                       _ workspace: MergeWorkspace, _ out: inout [Int]) {
        if level == preTokenizer.count {
            let offset = text.starts[start]
            encodePiece(text.bytes + offset, text.starts[end] - offset, merger, workspace, &out)
            return
        }
        let step = preTokenizer[level]
        var i = start
        while i < end {
            let j = text.pieceEnd(step, from: i, to: end)
            split(level: level + 1, from: i, to: j, text, merger, workspace, &out)
            i = j
        }
    }

    /// One pre-token → ids (REFERENCE §2.1 steps 3–4).
    @inline(__always) private func encodePiece(_ p: UnsafePointer<UInt8>, _ n: Int, _ merger: BytePairMerger,
                                               _ workspace: MergeWorkspace, _ out: inout [Int]) {
        if n == 1 {
            let id = byteIDs[Int(p[0])]
            if id >= 0 { out.append(Int(id)) }
            return
        }
        if ignoresMerges {
            let id = store.lookup(p, n)
            if id >= 0 {
                out.append(id)
                return
            }
        }
        merger.merge(p, n, workspace, into: &out)
    }

    /// The pre-tokens of `text`, in order (for tests and debugging; `encode` does not build them).
    func preTokenize(_ text: String) -> [String] {
        var text = text
        return text.withUTF8 { utf8 -> [String] in
            let n = utf8.count
            guard n > 0 else { return [] }
            let classes = UnsafeMutablePointer<UInt8>.allocate(capacity: n + 1)
            let starts = UnsafeMutablePointer<Int>.allocate(capacity: n + 1)
            defer {
                classes.deallocate()
                starts.deallocate()
            }
            let classified = ScalarClass.basicPlane.withUnsafeBufferPointer { table in
                ClassifiedText(utf8: utf8, classes: classes, starts: starts, table: table.baseAddress!)
            }
            var ranges = [0..<classified.count]
            for step in preTokenizer {
                ranges = ranges.flatMap { range -> [Range<Int>] in
                    var pieces: [Range<Int>] = []
                    var i = range.lowerBound
                    while i < range.upperBound {
                        let j = classified.pieceEnd(step, from: i, to: range.upperBound)
                        pieces.append(i..<j)
                        i = j
                    }
                    return pieces
                }
            }
            return ranges.map { range in
                String(decoding: UnsafeBufferPointer(rebasing: utf8[starts[range.lowerBound]..<starts[range.upperBound]]), as: UTF8.self)
            }
        }
    }

    // MARK: Decoding and inspection

    /// Concatenated token bytes (special tokens contribute their name's UTF-8). Unknown ids are skipped.
    public func decodeBytes(_ ids: [Int]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(ids.count * 4)
        for id in ids { appendBytes(of: id, to: &out) }
        return out
    }

    /// `decodeBytes` as text; invalid UTF-8 (e.g. a cut multi-byte character) becomes U+FFFD.
    public func decode(_ ids: [Int]) -> String {
        String(decoding: decodeBytes(ids), as: UTF8.self)
    }

    /// Appends the bytes of one token (nothing for an unknown id).
    func appendBytes(of id: Int, to out: inout [UInt8]) {
        out.append(contentsOf: store.bytes(of: id))
    }

    /// Id of a special or added token by its exact text, e.g. `"<|eot_id|>"` → 128009.
    public func specialTokenID(_ name: String) -> Int? { idsByName[name] }

    /// For display: the special token's name, or the token's bytes as (lossy) UTF-8. Nil for unknown ids.
    public func tokenString(_ id: Int) -> String? {
        if let name = namesByID[id] { return name }
        guard store.contains(id) else { return nil }
        return String(decoding: store.bytes(of: id), as: UTF8.self)
    }

    /// Whether `id` is a special token (Llama 3: 128000…128255; tokenizer.json: `"special": true`).
    public func isSpecial(_ id: Int) -> Bool { specialIDs.contains(id) }

    /// The raw bytes of one token (empty for unknown ids).
    public func tokenBytes(_ id: Int) -> [UInt8] { Array(store.bytes(of: id)) }
}
