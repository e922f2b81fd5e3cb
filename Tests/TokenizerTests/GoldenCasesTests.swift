import XCTest
@testable import Tokenizer

/// Parity with tiktoken on the 438 golden cases, from both file formats, plus exact decode round trips.
final class GoldenCasesTests: XCTestCase {
    func testTiktokenFileMatchesEveryGoldenCase() throws {
        try check(Fixtures.tiktoken.get())
    }

    /// tokenizer.json differs from tiktoken only where HF matches added-token strings inside text; this
    /// tokenizer never does (special text is plain text), so the tiktoken `ids` are the expectation.
    func testTokenizerJSONMatchesEveryGoldenCase() throws {
        try check(Fixtures.tokenizerJSON.get())
    }

    private func check(_ tokenizer: Tokenizer) throws {
        let cases = try Fixtures.cases.get()
        XCTAssertEqual(cases.count, 438)
        var failures = 0
        for c in cases {
            let ids = tokenizer.encode(c.text)
            if ids != c.ids {
                failures += 1
                XCTFail("\(tokenizer.format) [\(c.category)] \(c.text.debugDescription): got \(ids), expected \(c.ids)")
            }
            XCTAssertEqual(tokenizer.decodeBytes(c.ids), Array(c.text.utf8), "decode of \(c.text.debugDescription)")
            XCTAssertEqual(tokenizer.decode(ids), c.text)
        }
        XCTAssertEqual(failures, 0)
    }

    /// docs/formats.md, Tokenizer (swift-transformers' Llama-3.2-1B-Instruct vectors; HF encode adds BOS).
    func testReferenceTable() throws {
        let table: [(String, [Int])] = [
            ("hello world", [128000, 15339, 1917]),
            ("How are you doing?", [128000, 4438, 527, 499, 3815, 30]),
            ("You should've done this", [128000, 2675, 1288, 3077, 2884, 420]),
            ("A\n'll !!to?'d''d of, can't.", [128000, 32, 198, 3358, 11261, 998, 20837, 67, 4708, 67, 315, 11, 649, 956, 13]),
            ("def main():\n\tpass", [128000, 755, 1925, 4019, 42531]),
            ("This\n\nis\na\ntest.", [128000, 2028, 271, 285, 198, 64, 198, 1985, 13]),
            ("Hi  Hello", [128000, 13347, 220, 22691]),
            ("trailing space   ", [128000, 376, 14612, 3634, 262]),
            ("   leading space", [128000, 256, 6522, 3634]),
            ("生活的真谛是", [128000, 104654, 9554, 89151, 39013, 249, 21043]),
            ("The company was founded in 2016.", [128000, 791, 2883, 574, 18538, 304, 220, 679, 21, 13]),
            ("test $1 R2 #3 €4 £5 ¥6 ₣7 ₹8 ₱9 test",
             [128000, 1985, 400, 16, 432, 17, 674, 18, 13281, 19, 7083, 20, 72588, 21, 113384, 96, 22, 90891, 23, 113384, 109, 24, 1296]),
            ("you…\u{00A0}\u{00A0}", [128000, 9514, 1981, 9421]),
            ("you…  ", [128000, 9514, 1981, 256]),
        ]
        for tokenizer in [try Fixtures.tiktoken.get(), try Fixtures.tokenizerJSON.get()] {
            let bos = try XCTUnwrap(tokenizer.bosID)
            XCTAssertEqual(bos, 128000)
            for (text, expected) in table {
                XCTAssertEqual([bos] + tokenizer.encode(text), expected, "\(tokenizer.format): \(text.debugDescription)")
            }
            // meta-llama/llama3 test_tokenizer.py: with BOS and EOS.
            let eos = try XCTUnwrap(tokenizer.specialTokenID("<|end_of_text|>"))
            XCTAssertEqual([bos] + tokenizer.encode("This is a test sentence.") + [eos],
                           [128000, 2028, 374, 264, 1296, 11914, 13, 128001])
        }
    }

    /// Ids computed by tiktoken 0.14.0 `encode_ordinary` (Meta's tokenizer.model and pattern) for texts the
    /// golden set lacks: the pinned Unicode version (U+A7CB is a letter in Unicode 16.0; U+323B0, CJK
    /// Extension J, is only assigned in 17.0), a long run that takes the heap merge path, and ſ.
    func testExtraTiktokenParity() throws {
        let vectors: [(String, [Int])] = [
            ("\u{A7CB}'D", [166, 253, 233, 28805]),
            ("\u{323B0}'D", [172, 110, 236, 108, 6, 35]),
            ("\u{0378}'D", [137, 116, 6, 35]),
            ("'ſ", [6, 129, 123]),
            ("Tiếng Việt có dấu", [46451, 27160, 983, 101798, 29876, 112917]),
        ]
        for tokenizer in [try Fixtures.tiktoken.get(), try Fixtures.tokenizerJSON.get()] {
            for (text, expected) in vectors {
                XCTAssertEqual(tokenizer.encode(text), expected, "\(tokenizer.format): \(text.debugDescription)")
            }
        }
    }

    func testSpecialTokens() throws {
        let model = try Fixtures.tiktoken.get()
        let json = try Fixtures.tokenizerJSON.get()
        for tokenizer in [model, json] {
            XCTAssertEqual(tokenizer.vocabularySize, 128256)
            for (name, id) in [("<|begin_of_text|>", 128000), ("<|end_of_text|>", 128001), ("<|start_header_id|>", 128006),
                               ("<|end_header_id|>", 128007), ("<|eot_id|>", 128009), ("<|reserved_special_token_0|>", 128002)] {
                XCTAssertEqual(tokenizer.specialTokenID(name), id, "\(tokenizer.format) \(name)")
                XCTAssertEqual(tokenizer.tokenString(id), name)
                XCTAssertTrue(tokenizer.isSpecial(id))
            }
            XCTAssertFalse(tokenizer.isSpecial(15339))
            XCTAssertFalse(tokenizer.isSpecial(127999))
            XCTAssertTrue(tokenizer.isSpecial(128255))
            XCTAssertEqual(tokenizer.tokenString(15339), "hello")
            XCTAssertNil(tokenizer.tokenString(128256))
            XCTAssertNil(tokenizer.tokenString(-1))
            XCTAssertEqual(tokenizer.decode([128000, 15339, 1917, 128009]), "<|begin_of_text|>hello world<|eot_id|>")
            // Special text typed by a user is ordinary text (golden: [27, 91, 68, 354, 851, 91, 29]).
            XCTAssertEqual(tokenizer.encode("<|eot_id|>"), [27, 91, 68, 354, 851, 91, 29])
            XCTAssertEqual(tokenizer.encode("\n\n"), [271])
            XCTAssertEqual(tokenizer.encode(""), [])
        }
        // tokenizer.model uses the 3.1 names (docs/formats.md, Tokenizer); this tokenizer.json has the 3.0 names.
        XCTAssertEqual(model.specialTokenID("<|finetune_right_pad_id|>"), 128004)
        XCTAssertEqual(model.specialTokenID("<|eom_id|>"), 128008)
        XCTAssertEqual(model.specialTokenID("<|python_tag|>"), 128010)
        XCTAssertEqual(model.tokenString(128005), "<|reserved_special_token_2|>")
        XCTAssertEqual(model.tokenString(128011), "<|reserved_special_token_3|>")
        XCTAssertEqual(model.tokenString(128255), "<|reserved_special_token_247|>")
        XCTAssertEqual(json.tokenString(128004), "<|reserved_special_token_2|>")
        XCTAssertEqual(json.tokenString(128255), "<|reserved_special_token_250|>")
        XCTAssertEqual(model.format, .tiktoken)
        XCTAssertEqual(json.format, .tokenizerJSON)
        XCTAssertTrue(json.ignoresMerges)
    }

    /// A directory prefers tokenizer.json and falls back to tokenizer.model.
    func testLoadingFromDirectory() throws {
        let assets = try Fixtures.assetDirectory.get()
        XCTAssertEqual(try Tokenizer.load(path: assets.path).format, .tokenizerJSON)
        let directory = try Fixtures.temporaryDirectory(self)
        try FileManager.default.createSymbolicLink(at: directory.appendingPathComponent("tokenizer.model"),
                                                   withDestinationURL: assets.appendingPathComponent("tokenizer.model"))
        let tokenizer = try Tokenizer.load(path: directory.path)
        XCTAssertEqual(tokenizer.format, .tiktoken)
        XCTAssertEqual(tokenizer.encode("hello world"), [15339, 1917])
    }

    /// Immutable after load: concurrent encodes agree with serial ones.
    func testConcurrentEncodingIsDeterministic() throws {
        let tokenizer = try Fixtures.tiktoken.get()
        let texts = try Fixtures.cases.get().map(\.text)
        let expected = texts.map { tokenizer.encode($0) }
        let mismatches = Counter()
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for (index, text) in texts.enumerated() where (index + worker) % 2 == 0 {
                if tokenizer.encode(text) != expected[index] { mismatches.increment() }
            }
        }
        XCTAssertEqual(mismatches.value, 0)
    }
}

/// A lock-protected count for the concurrency test.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.lock(); count += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}
