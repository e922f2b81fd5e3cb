import XCTest
@testable import Tokenizer

/// Each unsupported or broken input gives a `TokenizerError` that names the file and the problem.
final class LoadingErrorTests: XCTestCase {
    private func loadError(_ path: String, file: StaticString = #filePath, line: UInt = #line) -> TokenizerError? {
        do {
            _ = try Tokenizer.load(path: path)
            XCTFail("loading \(path) should fail", file: file, line: line)
            return nil
        } catch let error as TokenizerError {
            XCTAssertTrue(error.localizedDescription.contains(path), "message names the file: \(error.localizedDescription)",
                          file: file, line: line)
            return error
        } catch {
            XCTFail("unexpected error type: \(error)", file: file, line: line)
            return nil
        }
    }

    private func writeText(_ text: String, _ name: String) throws -> String {
        let url = try Fixtures.temporaryDirectory(self).appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url.path
    }

    private func tinyJSON(_ edit: (inout [String: Any], inout [String: Any]) -> Void) throws -> String {
        var json = Fixtures.tinyTokenizerJSON(extra: ["ab"], merges: [("a", "b")], mergesAsPairs: true, ignoreMerges: true,
                                              preTokenizer: Fixtures.llama3PreTokenizer)
        var model = json["model"] as! [String: Any]
        edit(&json, &model)
        json["model"] = model
        return try Fixtures.write(json, to: Fixtures.temporaryDirectory(self))
    }

    func testTinyFixtureLoads() throws {
        // The base of the broken variants below is itself valid.
        let tokenizer = try Tokenizer.load(path: tinyJSON { _, _ in })
        XCTAssertEqual(tokenizer.encode("ab a"), [256, 32, 97])
    }

    func testMissingFileAndEmptyDirectory() throws {
        let directory = try Fixtures.temporaryDirectory(self)
        let missing = directory.appendingPathComponent("nope/tokenizer.json").path
        XCTAssertEqual(loadError(missing), .fileNotFound(path: missing))
        XCTAssertEqual(loadError(directory.path), .noTokenizerInDirectory(directory: directory.path))
    }

    func testSentencePieceModel() throws {
        // A SentencePiece model is a protobuf: field 1 (pieces), length-delimited → first byte 0x0A.
        let url = try Fixtures.temporaryDirectory(self).appendingPathComponent("tokenizer.model")
        try Data([0x0A, 0x0B, 0x0A, 0x05, 0x3C, 0x75, 0x6E, 0x6B, 0x3E, 0x15, 0x00, 0x00, 0x00, 0x00, 0x18, 0x02]).write(to: url)
        XCTAssertEqual(loadError(url.path), .sentencePieceModel(path: url.path))
    }

    func testBadBase64LineNamesTheLine() throws {
        let path = try writeText("IQ== 0\nIg== 1\nnot*base64 2\n", "tokenizer.model")
        guard case .malformedTiktokenLine(_, let line, _)? = loadError(path) else { return XCTFail("wrong error") }
        XCTAssertEqual(line, 3)
        let fields = try writeText("IQ== 0\n\nIg== 1 extra\n", "tokenizer.model")
        guard case .malformedTiktokenLine(_, let fieldsLine, _)? = loadError(fields) else { return XCTFail("wrong error") }
        XCTAssertEqual(fieldsLine, 3)
        // Strict base64, as Python's b64decode: padding is required, and nothing outside the alphabet.
        for bad in ["IQ 0\n", "I=Q= 0\n", "IQ==IQ== 0\n", "SQ-= 0\n"] {
            let path = try writeText(bad, "tokenizer.model")
            guard case .malformedTiktokenLine(_, 1, _)? = loadError(path) else { return XCTFail("\(bad) was accepted") }
        }
        let rank = try writeText("IQ== zero\n", "tokenizer.model")
        guard case .malformedTiktokenLine(_, 1, _)? = loadError(rank) else { return XCTFail("wrong error") }
    }

    func testNonDenseRanks() throws {
        // 256 single bytes with ranks 0…255, then one token with rank 300 (a gap) or a repeated rank.
        var lines = (0...255).map { b in "\(Data([UInt8(b)]).base64EncodedString()) \(b)" }
        let gap = try writeText((lines + ["YWI= 300"]).joined(separator: "\n"), "tokenizer.model")
        guard case .nonDenseRanks(_, let gapLine, _)? = loadError(gap) else { return XCTFail("wrong error") }
        XCTAssertEqual(gapLine, 257)
        lines.append("YWI= 7")
        let repeated = try writeText(lines.joined(separator: "\n"), "tokenizer.model")
        guard case .nonDenseRanks(_, let repeatLine, let reason)? = loadError(repeated) else { return XCTFail("wrong error") }
        XCTAssertEqual(repeatLine, 257)
        XCTAssertTrue(reason.contains("line 8"), reason)
    }

    func testValidTinyTiktokenFile() throws {
        // The same lines with dense ranks load, and "ab" (rank 256) merges from a + b.
        let lines = (0...255).map { b in "\(Data([UInt8(b)]).base64EncodedString()) \(b)" } + ["YWI= 256"]
        let tokenizer = try Tokenizer.load(path: writeText(lines.joined(separator: "\n") + "\n", "tokenizer.model"))
        XCTAssertEqual(tokenizer.vocabularySize, 257 + 256)
        // Pieces "abab" (not a token: a b a b → ab ab) and " ab" (␠ a b → ␠ ab).
        XCTAssertEqual(tokenizer.encode("abab ab"), [256, 256, 32, 256])
        XCTAssertEqual(tokenizer.tokenString(257 + 9), "<|eot_id|>")   // specials follow the 257 ranks
    }

    func testMalformedJSON() throws {
        let path = try writeText("{\"model\": {\"type\": \"BPE\", ", "tokenizer.json")
        guard case .malformedJSON(_, nil, _)? = loadError(path) else { return XCTFail("wrong error") }
        let noModel = try writeText("{\"version\": \"1.0\"}", "tokenizer.json")
        guard case .malformedJSON(_, "model", _)? = loadError(noModel) else { return XCTFail("wrong error") }
        let badMerge = try tinyJSON { _, model in model["merges"] = [["a", "zz"]] }
        guard case .inconsistentVocabulary(_, "model.merges[0]", _)? = loadError(badMerge) else { return XCTFail("wrong error") }
    }

    /// Ids far beyond the number of tokens (a vocabulary entry or an added token) are refused before the
    /// id-indexed tables are allocated. The fuzzer's input that made the loader allocate 3.7 GB is kept in
    /// Fuzz/regressions/tokenizer-json/ and replayed here.
    func testIdsFarBeyondTheTokenCountAreRefused() throws {
        let farVocab = try tinyJSON { _, model in
            var vocab = model["vocab"] as! [String: Any]
            vocab["ab"] = 44_444_519
            model["vocab"] = vocab
        }
        guard case .malformedJSON(_, "model.vocab[\"ab\"]", let reason)? = loadError(farVocab) else { return XCTFail("wrong error") }
        XCTAssertTrue(reason.contains("id 44444519 is far beyond"), reason)
        let farAdded = try tinyJSON { json, _ in
            json["added_tokens"] = [["id": (1 << 31) - 1, "content": "<|far|>", "special": true]]
        }
        guard case .malformedJSON(_, "added_tokens", _)? = loadError(farAdded) else { return XCTFail("wrong error") }

        let regressions = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fuzz/regressions/tokenizer-json")
        let inputs = try FileManager.default.contentsOfDirectory(atPath: regressions.path)
        XCTAssertFalse(inputs.isEmpty)
        for name in inputs {
            let copy = try writeText(try String(contentsOf: regressions.appendingPathComponent(name), encoding: .utf8), "tokenizer.json")
            guard case .malformedJSON(_, _, let reason)? = loadError(copy) else { return XCTFail("\(name): wrong error") }
            XCTAssertTrue(reason.contains("far beyond"), "\(name): \(reason)")
        }
    }

    func testOtherModelTypes() throws {
        for type in ["WordPiece", "Unigram", "WordLevel"] {
            let path = try tinyJSON { _, model in model["type"] = type }
            guard case .unsupported(_, let feature, _)? = loadError(path) else { return XCTFail("wrong error for \(type)") }
            XCTAssertTrue(feature.contains(type), feature)
        }
        let fallback = try tinyJSON { _, model in model["byte_fallback"] = true }
        guard case .unsupported(_, let feature, _)? = loadError(fallback) else { return XCTFail("wrong error") }
        XCTAssertTrue(feature.contains("byte_fallback"), feature)
    }

    func testUnsupportedPreTokenizerAndNormalizer() throws {
        let regex = try tinyJSON { json, _ in
            json["pre_tokenizer"] = ["type": "Sequence", "pretokenizers": [
                ["type": "Split", "pattern": ["Regex": #"\s+|\w+"#], "behavior": "Isolated", "invert": false],
                ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false]]]
        }
        guard case .unsupported(_, let feature, _)? = loadError(regex) else { return XCTFail("wrong error") }
        XCTAssertTrue(feature.contains(#"\s+|\w+"#), feature)
        let metaspace = try tinyJSON { json, _ in json["pre_tokenizer"] = ["type": "Metaspace", "replacement": "▁"] }
        guard case .unsupported? = loadError(metaspace) else { return XCTFail("wrong error") }
        let prefixSpace = try tinyJSON { json, _ in json["pre_tokenizer"] = ["type": "ByteLevel", "add_prefix_space": true, "use_regex": true] }
        guard case .unsupported? = loadError(prefixSpace) else { return XCTFail("wrong error") }
        let normalizer = try tinyJSON { json, _ in json["normalizer"] = ["type": "NFC"] }
        guard case .unsupported(_, let normalizerFeature, _)? = loadError(normalizer) else { return XCTFail("wrong error") }
        XCTAssertTrue(normalizerFeature.contains("NFC"), normalizerFeature)
    }

    func testErrorMessagesAreDescriptive() {
        let error = TokenizerError.malformedTiktokenLine(path: "/m/tokenizer.model", line: 12, reason: "bad")
        XCTAssertEqual("\(error)", error.localizedDescription)
        XCTAssertTrue(error.localizedDescription.contains("/m/tokenizer.model' line 12"))
    }
}
