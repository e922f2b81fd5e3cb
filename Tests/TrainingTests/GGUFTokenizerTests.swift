import ChatData
import Foundation
import GGUF
import Llama
import TestSupport
import Tokenizer
@testable import Training
import XCTest

/// The tokenizer and chat template a GGUF file carries (Fixtures/README.md says how the expected ids were made).
final class GGUFTokenizerTests: XCTestCase {
    static func smolLM2() throws -> String {
        try SharedFixtures.path("assets/smollm2-135m-instruct-q4_1/SmolLM2-135M-Instruct.Q4_1.gguf").path
    }

    static func goldenTexts() throws -> [String] {
        let data = try Data(contentsOf: try SharedFixtures.path("golden/chat/tokenizer_cases.json"))
        let cases = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        return try cases.map { try XCTUnwrap($0["text"] as? String) }
    }

    /// SmolLM2 (`tokenizer.ggml.pre` "smollm") equals SmolLM2's tokenizer.json on all golden cases. (Decoding
    /// does not always give the text back: SmolLM2's vocabulary lacks a few control bytes, which HF drops too.)
    func testSmolLM2GGUFTokenizerMatchesTokenizerJSON() throws {
        let tokenizer = try ModelTokenizer.load(path: Self.smolLM2())
        XCTAssertEqual(tokenizer.vocabularySize, 49152)
        XCTAssertEqual(tokenizer.specialTokenID("<|im_start|>"), 1)
        XCTAssertEqual(tokenizer.specialTokenID("<|im_end|>"), 2)
        XCTAssertTrue(tokenizer.isSpecial(2))
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/smollm2_tokenizer_ids.json")
        let expected = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [[String: Any]])
        let texts = try Self.goldenTexts()
        XCTAssertEqual(texts.count, expected.count)
        var failures = 0
        for (text, entry) in zip(texts, expected) {
            let want = try XCTUnwrap(entry["ids"] as? [Int])
            let got = tokenizer.encode(text)
            if got != want {
                failures += 1
                if failures <= 5 { XCTFail("\(text.debugDescription): got \(got), expected \(want)") }
            }
        }
        XCTAssertEqual(failures, 0)
    }

    /// `llama-bpe` (Llama 3): the arrays a GGUF holds, taken from Meta's tokenizer.json, give tiktoken's ids.
    func testLlamaBPEFromArraysMatchesTheGoldenIDs() throws {
        let data = try Data(contentsOf: try SharedFixtures.path("assets/llama3-tokenizer/tokenizer.json"))
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let model = try XCTUnwrap(json["model"] as? [String: Any])
        let vocab = try XCTUnwrap(model["vocab"] as? [String: Int])
        let added = try XCTUnwrap(json["added_tokens"] as? [[String: Any]])
        var tokens = [String](repeating: "", count: 128256)
        for (token, id) in vocab { tokens[id] = token }
        for a in added { tokens[try XCTUnwrap(a["id"] as? Int)] = try XCTUnwrap(a["content"] as? String) }
        let merges = try XCTUnwrap(model["merges"] as? [Any]).map { m -> String in
            if let s = m as? String { return s }
            return (m as! [String]).joined(separator: " ")
        }
        let pre = try XCTUnwrap(PreTokenizerStep.llamaCppNames["llama-bpe"])
        let tokenizer = try Tokenizer.byteLevelBPE(tokens: tokens, added: added.map { ($0["id"] as! Int, true) }, merges: merges,
                                                   preTokenizer: pre.steps, ignoresMerges: pre.ignoresMerges, sourcePath: "test",
                                                   tokensKey: "tokenizer.ggml.tokens", mergesKey: "tokenizer.ggml.merges")
        let cases = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: try SharedFixtures.path("golden/chat/tokenizer_cases.json"))) as? [[String: Any]])
        var failures = 0
        for c in cases where tokenizer.encode(c["text"] as! String) != (c["ids"] as! [Int]) { failures += 1 }
        XCTAssertEqual(failures, 0)
        XCTAssertEqual(tokenizer.specialTokenID("<|eot_id|>"), 128009)
    }

    func testDuplicateTokenIsNamed() {
        XCTAssertThrowsError(try Tokenizer.byteLevelBPE(tokens: ["a", "b", "a"], added: [], merges: [], preTokenizer: [.gpt2],
                                                        ignoresMerges: false, sourcePath: "x.gguf", tokensKey: "tokenizer.ggml.tokens",
                                                        mergesKey: "tokenizer.ggml.merges")) {
            XCTAssertTrue("\($0.localizedDescription)".contains("tokenizer.ggml.tokens[2]"), "\($0.localizedDescription)")
        }
    }

    func testChatTemplateIsRecognized() throws {
        XCTAssertEqual(try ModelTokenizer.chatTemplate(gguf: Self.smolLM2()), .chatml)
        for (file, template) in [("llama3_chat_template.jinja", ChatTemplate.llama3), ("llama3.1_chat_template.jinja", .llama31)] {
            let jinja = try String(contentsOf: try SharedFixtures.path("golden/chat/\(file)"), encoding: .utf8)
            XCTAssertEqual(ChatTemplate(recognizing: jinja), template, file)
        }
        XCTAssertNil(ChatTemplate(recognizing: "{{ messages }}"))
    }

    /// A recipe on a GGUF model takes the model's template unless it names one.
    func testRecipeTemplateFollowsTheGGUFUnlessNamed() throws {
        let model = try Self.smolLM2()
        func recipe(_ data: String) throws -> Recipe {
            try Recipe.parse(Data("{\"model\": \"\(model)\", \"output_dir\": \"out\", \"data\": {\"train\": \"t.jsonl\"\(data)}}".utf8), file: "r.json", baseDirectory: "/tmp")
        }
        XCTAssertEqual(try recipe("").data.template, .chatml)
        XCTAssertEqual(try recipe(", \"template\": \"llama3\"").data.template, .llama3)
    }
}
