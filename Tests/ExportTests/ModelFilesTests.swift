@testable import Export
import Foundation
import Llama
import XCTest

/// config.json, generation_config.json and tokenizer files of a merged export.
final class ModelFilesTests: XCTestCase {
    /// Parsed JSON objects compared as Foundation values.
    private func assertSameObject(_ a: [String: Any], _ b: [String: Any], _ message: String) {
        XCTAssertEqual(NSDictionary(dictionary: a), NSDictionary(dictionary: b), message)
    }

    func testConfigKeepsEveryKeyAndOnlyTheDTypeChanges() throws {
        for name in exportFixtureNames {
            let f = try ExportFixture(name)
            let out = try scratchDirectory(self) + "/merged"
            _ = try Exporter.export(ExportOptions(source: f.adapter, output: out, dtype: .bf16, baseModel: f.dir))
            var base = try readJSONObject(f.dir + "/config.json")
            let written = try readJSONObject(out + "/config.json")
            XCTAssertEqual(written["dtype"] as? String, "bfloat16")
            XCTAssertNil(written["torch_dtype"], "the v5 file uses `dtype`; no second key is added")
            base["dtype"] = "bfloat16"
            assertSameObject(written, base, name)
            // Text edit: every other line is the base's byte for byte (number formats, rope_parameters).
            let baseLines = try String(contentsOfFile: f.dir + "/config.json", encoding: .utf8).split(separator: "\n")
            let lines = try String(contentsOfFile: out + "/config.json", encoding: .utf8).split(separator: "\n")
            XCTAssertEqual(lines.count, baseLines.count)
            XCTAssertEqual(zip(lines, baseLines).filter { $0 != $1 }.map { String($0.0) }, [#"  "dtype": "bfloat16","#])
        }
    }

    func testUnchangedDTypeCopiesConfigVerbatim() throws {
        let f = try ExportFixture("tiny-llama32")
        let out = try scratchDirectory(self) + "/merged"
        _ = try Exporter.export(ExportOptions(source: f.adapter, output: out, baseModel: f.dir))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out + "/config.json")),
                       try Data(contentsOf: URL(fileURLWithPath: f.dir + "/config.json")))
    }

    func testV4ConfigKeepsTorchDTypeAndRopeScalingStyle() throws {
        // A base in the classic Hub shape: torch_dtype, top-level rope_theta, rope_scaling, no head_dim (tiny-llama3).
        for name in exportFixtureNames {
            let f = try ExportFixture(name)
            let scratch = try scratchDirectory(self)
            let base = scratch + "/base"
            try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
            try copyItem(f.dir + "/config.v4.json", base + "/config.json")
            try FileManager.default.createSymbolicLink(atPath: base + "/model.safetensors", withDestinationPath: f.dir + "/model.safetensors")
            _ = try Exporter.export(ExportOptions(source: f.adapter, output: scratch + "/out", dtype: .bf16, baseModel: base))
            var expected = try readJSONObject(f.dir + "/config.v4.json")
            expected["torch_dtype"] = "bfloat16"
            let written = try readJSONObject(scratch + "/out/config.json")
            XCTAssertNil(written["dtype"])
            XCTAssertNil(written["rope_parameters"])
            assertSameObject(written, expected, name)
        }
    }

    func testGenerationConfigForTheTinyModelTakesConfigIDs() throws {
        let f = try ExportFixture("tiny-llama3")
        let out = try scratchDirectory(self) + "/merged"
        _ = try Exporter.export(ExportOptions(source: f.adapter, output: out, baseModel: f.dir))
        let config = try readJSONObject(f.dir + "/config.json")
        let generation = try readJSONObject(out + "/generation_config.json")
        XCTAssertEqual(generation["eos_token_id"] as? Int, config["eos_token_id"] as? Int)
        XCTAssertEqual(generation["bos_token_id"] as? Int, config["bos_token_id"] as? Int)
    }

    func testLlama3GenerationConfigStopsAtEotID() throws {
        let llama3 = LlamaConfig(vocabSize: 128_256, hiddenSize: 64, intermediateSize: 160, numLayers: 1, numHeads: 4, numKVHeads: 2,
                                 headDim: 16, rmsNormEps: 1e-5, ropeTheta: 500_000, tieWordEmbeddings: true,
                                 bosTokenID: 128_000, eosTokenIDs: [128_001])
        // No base generation_config.json: a new one.
        let fresh = try ModelDirectoryFiles.generationConfig(baseText: nil, config: llama3, llama3Tokenizer: true, path: "g.json")
        let object = try JSONSerialization.jsonObject(with: Data(fresh.utf8)) as! [String: Any]
        XCTAssertEqual(object["eos_token_id"] as? [Int], [128_001, 128_008, 128_009])
        XCTAssertEqual(object["bos_token_id"] as? Int, 128_000)
        // The base's file: only eos_token_id changes.
        let baseText = """
        {
          "bos_token_id": 128000,
          "do_sample": true,
          "eos_token_id": 128001,
          "temperature": 0.6,
          "top_p": 0.9,
          "transformers_version": "4.45.0.dev0"
        }
        """
        let edited = try ModelDirectoryFiles.generationConfig(baseText: baseText, config: llama3, llama3Tokenizer: true, path: "g.json")
        XCTAssertEqual(edited, baseText.replacingOccurrences(of: #""eos_token_id": 128001"#, with: #""eos_token_id": [128001, 128008, 128009]"#))
        // Not a Llama 3 tokenizer: the base's file as is.
        XCTAssertEqual(try ModelDirectoryFiles.generationConfig(baseText: baseText, config: llama3, llama3Tokenizer: false, path: "g.json"), baseText)
        // The vocabulary decides, and a tokenizer.json must define <|eot_id|>.
        let dir = try scratchDirectory(self)
        XCTAssertTrue(ModelDirectoryFiles.isLlama3Tokenizer(config: llama3, baseDirectory: dir))
        try writeText(#"{"added_tokens": [{"id": 128009, "content": "<|eot_id|>"}]}"#, dir + "/tokenizer.json")
        XCTAssertTrue(ModelDirectoryFiles.isLlama3Tokenizer(config: llama3, baseDirectory: dir))
        try writeText(#"{"added_tokens": []}"#, dir + "/tokenizer.json")
        XCTAssertFalse(ModelDirectoryFiles.isLlama3Tokenizer(config: llama3, baseDirectory: dir))
        XCTAssertFalse(ModelDirectoryFiles.isLlama3Tokenizer(config: try ExportFixture("tiny-llama3").config, baseDirectory: dir))
    }

    func testJSONTextEditInsertsAMissingKeyWithTheFileIndentation() throws {
        let text = "{\n  \"a\": {\"b\": [1, \"}\", 2]},\n  \"c\": \"x\\\"y\"\n}\n"
        let replaced = try JSONTextEdit.setting("c", to: "3", in: text, path: "t.json")
        XCTAssertEqual(replaced, "{\n  \"a\": {\"b\": [1, \"}\", 2]},\n  \"c\": 3\n}\n")
        let inserted = try JSONTextEdit.setting("torch_dtype", to: "\"bfloat16\"", in: text, path: "t.json")
        XCTAssertEqual(inserted, "{\n  \"torch_dtype\": \"bfloat16\",\n  \"a\": {\"b\": [1, \"}\", 2]},\n  \"c\": \"x\\\"y\"\n}\n")
        XCTAssertEqual(try JSONTextEdit.setting("k", to: "1", in: "{}", path: "t.json"), "{\"k\": 1}")
        // Nested keys of the same name are not top-level.
        XCTAssertEqual(try JSONTextEdit.setting("b", to: "0", in: "{\"x\": {\"b\": 1}, \"b\": 2}", path: "t.json"), "{\"x\": {\"b\": 1}, \"b\": 0}")
        XCTAssertThrowsError(try JSONTextEdit.setting("a", to: "1", in: "[1]", path: "t.json"))
    }

    func testTokenizerFilesAreCopiedAsFilesEvenThroughSymlinks() throws {
        let f = try ExportFixture("tiny-llama3")
        let scratch = try scratchDirectory(self)
        let base = scratch + "/base"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        for file in ["config.json", "model.safetensors"] {
            try FileManager.default.createSymbolicLink(atPath: base + "/" + file, withDestinationPath: f.dir + "/" + file)
        }
        try writeText(#"{"model": {"type": "BPE"}}"#, scratch + "/blob-tokenizer")
        try FileManager.default.createSymbolicLink(atPath: base + "/tokenizer.json", withDestinationPath: scratch + "/blob-tokenizer")
        try writeText(#"{"eos_token": "<|eot_id|>"}"#, base + "/tokenizer_config.json")
        try writeText(#"{"do_sample": true, "eos_token_id": 2}"#, base + "/generation_config.json")
        let out = scratch + "/out"
        _ = try Exporter.export(ExportOptions(source: f.adapter, output: out, baseModel: base))
        for file in ["tokenizer.json", "tokenizer_config.json"] {
            let attributes = try FileManager.default.attributesOfItem(atPath: out + "/" + file)
            XCTAssertEqual(attributes[.type] as? FileAttributeType, .typeRegular, file)
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out + "/" + file)),
                           try Data(contentsOf: URL(fileURLWithPath: base + "/" + file)), file)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/special_tokens_map.json"))
        XCTAssertEqual(try String(contentsOfFile: out + "/generation_config.json", encoding: .utf8),
                       #"{"do_sample": true, "eos_token_id": 2}"#, "a non-Llama-3 vocabulary keeps the base's generation config")
    }
}
