import Foundation
import TestSupport
import XCTest
@testable import Tokenizer

/// Shared fixtures: the real Llama 3 tokenizer files (loaded once per test process) and golden cases.
enum Fixtures {
    static let assetDirectory: Result<URL, any Error> = Result { try SharedFixtures.path("assets/llama3-tokenizer") }

    static let tiktoken: Result<Tokenizer, any Error> = Result {
        try Tokenizer.load(path: assetDirectory.get().appendingPathComponent("tokenizer.model").path)
    }
    static let tokenizerJSON: Result<Tokenizer, any Error> = Result {
        try Tokenizer.load(path: assetDirectory.get().appendingPathComponent("tokenizer.json").path)
    }

    struct Case {
        var text: String
        var ids: [Int]
        var category: String
    }

    /// `golden/chat/tokenizer_cases.json`: ids from tiktoken with Meta's tokenizer.model (special text is text).
    static let cases: Result<[Case], any Error> = Result {
        let url = try SharedFixtures.path("golden/chat/tokenizer_cases.json")
        guard let list = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [[String: Any]] else {
            throw CocoaError(.fileReadCorruptFile)
        }
        return try list.map { entry in
            guard let text = entry["text"] as? String, let ids = entry["ids"] as? [Int],
                  let category = entry["category"] as? String else { throw CocoaError(.fileReadCorruptFile) }
            return Case(text: text, ids: ids, category: category)
        }
    }

    /// A fresh temporary directory, removed when the test ends.
    static func temporaryDirectory(_ test: XCTestCase) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tokenizer-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// GPT-2's bytes_to_unicode, written out independently of the code under test: printable bytes
    /// 0x21–0x7E, 0xA1–0xAC, 0xAE–0xFF stand for themselves, the rest become U+0100… in byte order.
    static func byteLevel(_ bytes: [UInt8]) -> String {
        var map: [UInt8: Unicode.Scalar] = [:]
        var next: UInt32 = 0x100
        for b in 0...255 {
            let printable = (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)
            if printable {
                map[UInt8(b)] = Unicode.Scalar(UInt32(b))!
            } else {
                map[UInt8(b)] = Unicode.Scalar(next)!
                next += 1
            }
        }
        var s = String.UnicodeScalarView()
        for b in bytes { s.append(map[b]!) }
        return String(s)
    }

    static func byteLevel(_ text: String) -> String { byteLevel(Array(text.utf8)) }

    /// A tokenizer.json whose single bytes have ids 0…255 (id = byte value) followed by `extra` tokens
    /// (ids 256, 257, … in order, given as raw text), with `merges` given as raw-text pairs.
    static func tinyTokenizerJSON(extra: [String], merges: [(String, String)], mergesAsPairs: Bool,
                                  ignoreMerges: Bool?, preTokenizer: Any) -> [String: Any] {
        var vocab: [String: Int] = [:]
        for b in 0...255 { vocab[byteLevel([UInt8(b)])] = b }
        for (offset, token) in extra.enumerated() { vocab[byteLevel(token)] = 256 + offset }
        let mergeList: [Any] = merges.map { a, b in
            mergesAsPairs ? [byteLevel(a), byteLevel(b)] as Any : "\(byteLevel(a)) \(byteLevel(b))" as Any
        }
        var model: [String: Any] = ["type": "BPE", "dropout": NSNull(), "unk_token": NSNull(),
                                    "continuing_subword_prefix": NSNull(), "end_of_word_suffix": NSNull(),
                                    "fuse_unk": false, "byte_fallback": false, "vocab": vocab, "merges": mergeList]
        if let ignoreMerges { model["ignore_merges"] = ignoreMerges }
        return ["version": "1.0", "truncation": NSNull(), "padding": NSNull(), "added_tokens": [Any](),
                "normalizer": NSNull(), "pre_tokenizer": preTokenizer, "post_processor": NSNull(),
                "decoder": ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true],
                "model": model]
    }

    static var llama3PreTokenizer: [String: Any] { [
        "type": "Sequence",
        "pretokenizers": [
            ["type": "Split", "pattern": ["Regex": #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#],
             "behavior": "Isolated", "invert": false],
            ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false],
        ],
    ] }

    static var gpt2PreTokenizer: [String: Any] { ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true] }

    static var smolLM2PreTokenizer: [String: Any] { [
        "type": "Sequence",
        "pretokenizers": [
            ["type": "Digits", "individual_digits": true],
            ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true],
        ],
    ] }

    /// Writes `object` as `name` in `directory` and returns the path.
    static func write(_ object: Any, to directory: URL, name: String = "tokenizer.json") throws -> String {
        let url = directory.appendingPathComponent(name)
        try JSONSerialization.data(withJSONObject: object).write(to: url)
        return url.path
    }
}
