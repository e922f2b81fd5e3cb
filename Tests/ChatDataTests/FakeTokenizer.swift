import ChatData

/// A tiny deterministic tokenizer for unit tests: ids 0...255 are bytes, a few multi-byte tokens are matched
/// greedily (longest first), and named special tokens sit above them. Like the real one, `encode` treats
/// special-token text as plain text.
struct FakeTokenizer: ChatTokenizer {
    static let llamaSpecials = ["<|begin_of_text|>": 1000, "<|end_of_text|>": 1001, "<|start_header_id|>": 1006,
                                "<|end_header_id|>": 1007, "<|eot_id|>": 1009]
    static let chatMLSpecials = ["<|im_start|>": 1100, "<|im_end|>": 1101, "<|endoftext|>": 1102]
    /// Multi-byte tokens: "\n\n" plays the role of Llama's 271.
    static let merges: [String: Int] = ["\n\n": 500, "assistant": 501, "user": 502, "system": 503, "Hello": 504]

    let specials: [String: Int]
    private let mergeBytes: [([UInt8], Int)]

    init(specials: [String: Int] = FakeTokenizer.llamaSpecials) {
        self.specials = specials
        mergeBytes = Self.merges.map { (Array($0.key.utf8), $0.value) }.sorted { $0.0.count > $1.0.count }
    }

    var vocabularySize: Int { 1200 }

    func encode(_ text: String) -> [Int] {
        let bytes = Array(text.utf8)
        var ids: [Int] = []
        var i = 0
        outer: while i < bytes.count {
            for (token, id) in mergeBytes where i + token.count <= bytes.count && Array(bytes[i..<i + token.count]) == token {
                ids.append(id)
                i += token.count
                continue outer
            }
            ids.append(Int(bytes[i]))
            i += 1
        }
        return ids
    }

    func decodeBytes(_ ids: [Int]) -> [UInt8] {
        var out: [UInt8] = []
        for id in ids {
            if id < 256 { out.append(UInt8(id)) } else if let s = tokenString(id) { out += Array(s.utf8) }
        }
        return out
    }

    func decode(_ ids: [Int]) -> String { String(decoding: decodeBytes(ids), as: UTF8.self) }

    func specialTokenID(_ name: String) -> Int? { specials[name] }

    func tokenString(_ id: Int) -> String? {
        if id < 256 { return String(UnicodeScalar(UInt8(id))) }
        if let merge = Self.merges.first(where: { $0.value == id }) { return merge.key }
        return specials.first { $0.value == id }?.key
    }

    func isSpecial(_ id: Int) -> Bool { id >= 1000 && specials.values.contains(id) }

    /// Plain-text ids of `text` (bytes and merges), for building expectations by hand.
    func text(_ text: String) -> [Int] { encode(text) }
}

/// Writes `text` to a fresh temporary file and returns its path.
func temporaryFile(_ text: String, name: String = "data.jsonl") throws -> String {
    try temporaryFile(bytes: Array(text.utf8), name: name)
}

func temporaryFile(bytes: [UInt8], name: String = "data.jsonl") throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("chatdata-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let url = dir.appendingPathComponent(name)
    try Data(bytes).write(to: url)
    return url.path
}

import Foundation
