import Foundation

/// Reads Meta's tiktoken `tokenizer.model`: one `base64(token bytes) rank` line per token, ranks dense
/// (REFERENCE §2.4). The 256 Llama 3 special tokens follow as ids `count…count+255`; the pre-tokenizer is
/// the Llama 3 pattern (the file does not record one).
enum TiktokenLoader {
    static func load(data: Data, path: String) throws -> Tokenizer {
        let entries = try data.withUnsafeBytes { raw in
            try parseLines(raw.bindMemory(to: UInt8.self), path: path)
        }
        let count = entries.count
        guard count > 0 else {
            throw TokenizerError.malformedTiktokenLine(path: path, line: 1, reason: "the file has no tokens")
        }
        // Dense ranks: `count` entries, each rank < count and used once ⇒ exactly 0..<count.
        var tokens = [[UInt8]?](repeating: nil, count: count + Llama3SpecialTokens.count)
        var lineOfRank = [Int](repeating: 0, count: count)
        for entry in entries {
            guard entry.rank < count else {
                throw TokenizerError.nonDenseRanks(path: path, line: entry.line, reason:
                    "rank \(entry.rank) is not below the number of tokens (\(count)), so some rank in 0..<\(count) is missing")
            }
            if lineOfRank[entry.rank] != 0 {
                throw TokenizerError.nonDenseRanks(path: path, line: entry.line, reason:
                    "rank \(entry.rank) already appeared on line \(lineOfRank[entry.rank])")
            }
            lineOfRank[entry.rank] = entry.line
            tokens[entry.rank] = entry.bytes
        }
        var added: [Tokenizer.AddedToken] = []
        for index in 0..<Llama3SpecialTokens.count {
            let name = Llama3SpecialTokens.name(at: index)
            tokens[count + index] = Array(name.utf8)
            added.append(.init(id: count + index, content: name, special: true))
        }
        let store = TokenStore(tokens: tokens) { $0 < count }

        for rank in 0..<count {
            let found = tokens[rank]!.withUnsafeBufferPointer { store.lookup($0.baseAddress!, $0.count) }
            if found != rank {
                throw TokenizerError.inconsistentVocabulary(path: path, key: "line \(lineOfRank[rank])", reason:
                    "the token of rank \(rank) repeats the token of rank \(found) (line \(lineOfRank[found]))")
            }
        }
        for b in 0...255 where store.lookup([UInt8(b)]) < 0 {
            throw TokenizerError.inconsistentVocabulary(path: path, key: String(format: "byte 0x%02X", b), reason:
                "no token is this single byte; byte-level BPE needs all 256 bytes to encode arbitrary text")
        }
        let pairs = PairTable(rules: mergeRules(tokens: tokens, count: count, store: store))
        return Tokenizer(store: store, pairs: pairs, added: added, ignoresMerges: true, preTokenizer: [.llama3],
                         format: .tiktoken, sourcePath: path)
    }

    /// tiktoken merges two adjacent parts when their concatenation has a rank, lowest rank first. Every part
    /// is itself a token, so this equals the rules "A, B → A+B with priority rank(A+B)" over all ways of
    /// splitting each token into two tokens.
    static func mergeRules(tokens: [[UInt8]?], count: Int, store: TokenStore) -> [PairTable.Rule] {
        var rules: [PairTable.Rule] = []
        rules.reserveCapacity(count * 4)
        for rank in 0..<count {
            tokens[rank]!.withUnsafeBufferPointer { token in
                let p = token.baseAddress!
                for cut in stride(from: 1, to: token.count, by: 1) {
                    let left = store.lookup(p, cut)
                    guard left >= 0 else { continue }
                    let right = store.lookup(p + cut, token.count - cut)
                    guard right >= 0 else { continue }
                    rules.append(.init(left: UInt32(left), right: UInt32(right), priority: UInt32(rank), merged: UInt32(rank)))
                }
            }
        }
        return rules
    }

    struct Entry {
        var bytes: [UInt8]
        var rank: Int
        var line: Int
    }

    /// Splits the file into `token rank` entries, with line numbers for errors.
    static func parseLines(_ bytes: UnsafeBufferPointer<UInt8>, path: String) throws -> [Entry] {
        // A SentencePiece model is a protobuf: binary, and its first field (`pieces`, tag 1, length-delimited)
        // starts with byte 0x0A. A tiktoken file is printable ASCII.
        let probe = bytes.prefix(4096)
        if let bad = probe.firstIndex(where: { $0 == 0 || $0 >= 0x80 || ($0 < 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09) }) {
            if bytes.first == 0x0A || path.hasSuffix(".model") && probe.contains(0) {
                throw TokenizerError.sentencePieceModel(path: path)
            }
            let line = 1 + probe[..<bad].filter { $0 == 0x0A }.count
            throw TokenizerError.malformedTiktokenLine(path: path, line: line, reason:
                String(format: "binary byte 0x%02X; this is not a tiktoken text file", bytes[bad]))
        }
        var entries: [Entry] = []
        entries.reserveCapacity(bytes.count / 12)
        var line = 0
        var start = 0
        let n = bytes.count
        while start < n {
            line += 1
            var end = start
            while end < n && bytes[end] != 0x0A { end += 1 }
            defer { start = end + 1 }
            // Fields separated by whitespace (Meta's load_bpe_file: `line.split()`).
            var fields: [Range<Int>] = []
            var i = start
            while i < end {
                while i < end && isSpace(bytes[i]) { i += 1 }
                guard i < end else { break }
                let fieldStart = i
                while i < end && !isSpace(bytes[i]) { i += 1 }
                fields.append(fieldStart..<i)
            }
            if fields.isEmpty { continue }
            guard fields.count == 2 else {
                throw TokenizerError.malformedTiktokenLine(path: path, line: line, reason:
                    "expected 2 fields (base64 token, rank), found \(fields.count)")
            }
            let tokenField = UnsafeBufferPointer(rebasing: bytes[fields[0]])
            // Foundation's decoder is strict: RFC 4648 alphabet, padding to a multiple of 4, nothing else.
            guard let decoded = Data(base64Encoded: Data(tokenField)), !decoded.isEmpty else {
                throw TokenizerError.malformedTiktokenLine(path: path, line: line, reason:
                    "'\(String(decoding: tokenField.prefix(64), as: UTF8.self))' is not valid non-empty base64")
            }
            var rank = 0
            for b in bytes[fields[1]] {
                guard b >= 0x30 && b <= 0x39, rank < Int.max / 20 else {
                    throw TokenizerError.malformedTiktokenLine(path: path, line: line, reason:
                        "rank '\(String(decoding: bytes[fields[1]].prefix(32), as: UTF8.self))' is not a non-negative integer")
                }
                rank = rank * 10 + Int(b - 0x30)
            }
            entries.append(Entry(bytes: [UInt8](decoded), rank: rank, line: line))
        }
        return entries
    }

    @inline(__always) private static func isSpace(_ b: UInt8) -> Bool {
        b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0B || b == 0x0C
    }
}
