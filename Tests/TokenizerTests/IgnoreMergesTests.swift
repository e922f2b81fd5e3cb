import XCTest
@testable import Tokenizer

/// `ignore_merges` (huggingface/tokenizers#1493, ggml-org/llama.cpp#7193): true maps a pre-token that is
/// itself in the vocabulary straight to its id; false applies merges only.
final class IgnoreMergesTests: XCTestCase {
    /// Tiny vocabulary (single bytes = ids 0…255) plus
    ///   256 " V", 257 " Vi", 258 "\u{E1}\u{BB}" (first two bytes of ệ), 259 "ệ", 260 " Việt"
    /// and merges " "+"V", " V"+"i", E1+BB, E1BB+87. " Việt" is one Llama 3 pre-token (space + letters).
    /// Merges only: ␠ V i E1 BB 87 t → " V" → " Vi" → E1BB → "ệ" → [" Vi", "ệ", "t"] = [257, 259, 116],
    /// because no rule joins " Vi" and "ệ". With ignore_merges the whole pre-token is entry 260.
    private func tiny(ignoreMerges: Bool?) throws -> Tokenizer {
        let directory = try Fixtures.temporaryDirectory(self)
        var json = Fixtures.tinyTokenizerJSON(extra: [" V", " Vi"], merges: [(" ", "V"), (" V", "i")], mergesAsPairs: false,
                                              ignoreMerges: ignoreMerges, preTokenizer: Fixtures.llama3PreTokenizer)
        // Tokens with partial UTF-8 are written directly in the byte-level alphabet.
        var model = json["model"] as! [String: Any]
        var vocab = model["vocab"] as! [String: Int]
        let e1bb = Fixtures.byteLevel([0xE1, 0xBB])
        let ecirc = Fixtures.byteLevel([0xE1, 0xBB, 0x87])
        vocab[e1bb] = 258
        vocab[ecirc] = 259
        vocab[Fixtures.byteLevel(" Việt")] = 260
        model["vocab"] = vocab
        let (e1, bb, x87) = (Fixtures.byteLevel([0xE1]), Fixtures.byteLevel([0xBB]), Fixtures.byteLevel([0x87]))
        model["merges"] = (model["merges"] as! [Any]) + ["\(e1) \(bb)", "\(e1bb) \(x87)"]
        json["model"] = model
        return try Tokenizer.load(path: Fixtures.write(json, to: directory))
    }

    func testIgnoreMergesTrueUsesWholeVocabularyEntry() throws {
        XCTAssertEqual(Fixtures.byteLevel(" Việt"), "ĠViá»ĩt")   // the key as it appears in tokenizer.json
        let tokenizer = try tiny(ignoreMerges: true)
        XCTAssertEqual(tokenizer.encode(" Việt"), [260])
    }

    func testIgnoreMergesFalseAppliesMergesOnly() throws {
        XCTAssertEqual(try tiny(ignoreMerges: false).encode(" Việt"), [257, 259, 116])
        // HF's default when the key is absent is false.
        XCTAssertEqual(try tiny(ignoreMerges: nil).encode(" Việt"), [257, 259, 116])
    }

    /// The real file with ignore_merges patched to false behaves like Llama 3.2-Vision's tokenizer.json:
    /// " Việt" → [11655, 26298, 83] (golden README), while every other word is unchanged.
    func testRealTokenizerJSONWithIgnoreMergesFalse() throws {
        let source = try Fixtures.assetDirectory.get().appendingPathComponent("tokenizer.json")
        var json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: source)) as? [String: Any])
        var model = try XCTUnwrap(json["model"] as? [String: Any])
        model["ignore_merges"] = false
        json["model"] = model
        let directory = try Fixtures.temporaryDirectory(self)
        let tokenizer = try Tokenizer.load(path: Fixtures.write(json, to: directory))
        XCTAssertFalse(tokenizer.ignoresMerges)
        XCTAssertEqual(tokenizer.encode(" Việt"), [11655, 26298, 83])
        XCTAssertEqual(try Fixtures.tiktoken.get().encode(" Việt"), [101798])
        XCTAssertEqual(tokenizer.encode("hello world"), [15339, 1917])
    }
}
