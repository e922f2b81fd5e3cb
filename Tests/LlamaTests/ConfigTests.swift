import Foundation
import Llama
import XCTest

final class ConfigTests: XCTestCase {
    func testV4AndV5ConfigsDescribeTheSameModel() throws {
        for name in fixtureNames {
            let f = try GoldenFixture(name)
            var v5 = try LlamaConfig.load(path: f.path("config.json"))
            var v4 = try LlamaConfig.load(path: f.path("config.v4.json"))
            v5.dtype = nil; v4.dtype = nil
            XCTAssertEqual(v5, v4, name)
        }
        let v4 = try LlamaConfig.load(path: try GoldenFixture("tiny-llama3").path("config.v4.json"))
        XCTAssertEqual(v4.headDim, 16, "absent head_dim defaults to hidden_size / num_attention_heads")
        let llama32 = try LlamaConfig.load(path: try GoldenFixture("tiny-llama32").path("config.json"))
        XCTAssertEqual(llama32.ropeScaling, .llama3(factor: 4, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 64))
        XCTAssertTrue(llama32.tieWordEmbeddings)
    }

    func testLlama3FrequencyTableFromReference() {
        // docs/formats.md, RoPE computed goldens (theta 500000).
        let f8 = RoPEFrequencies(headDim: 128, theta: 500000, scaling: .llama3(factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192))
        XCTAssertEqual(Double(f8.frequencies[29]), 2.166571e-3, accuracy: 1e-9)
        XCTAssertEqual(Double(f8.frequencies[63]), 3.068926e-7, accuracy: 1e-12)
        let unscaled = RoPEFrequencies(headDim: 128, theta: 500000, scaling: .none)
        XCTAssertEqual(Double(unscaled.frequencies[29]), 2.616099e-3, accuracy: 1e-9)
        for i in 0...28 { XCTAssertEqual(f8.frequencies[i], unscaled.frequencies[i]) }
        for i in 35...63 { XCTAssertEqual(f8.frequencies[i], unscaled.frequencies[i] / 8, accuracy: unscaled.frequencies[i] * 1e-6) }
        let f32 = RoPEFrequencies(headDim: 128, theta: 500000, scaling: .llama3(factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192))
        XCTAssertEqual(Double(f32.frequencies[29]), 2.118407e-3, accuracy: 1e-9)
        XCTAssertEqual(Double(f32.frequencies[63]), 7.672315e-8, accuracy: 1e-13)
        let d64 = RoPEFrequencies(headDim: 64, theta: 500000, scaling: .llama3(factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192))
        XCTAssertEqual(Double(d64.frequencies[15]), 1.290548e-3, accuracy: 1e-9)
        XCTAssertEqual(Double(d64.frequencies[31]), 9.418307e-8, accuracy: 1e-13)
    }

    func testParameterCountsFromReference() {
        let oneB = LlamaConfig(vocabSize: 128256, hiddenSize: 2048, intermediateSize: 8192, numLayers: 16, numHeads: 32,
                               numKVHeads: 8, headDim: 64, rmsNormEps: 1e-5, ropeTheta: 500000, tieWordEmbeddings: true)
        XCTAssertEqual(oneB.parameterCount, 1_235_814_400)
        let eightB = LlamaConfig(vocabSize: 128256, hiddenSize: 4096, intermediateSize: 14336, numLayers: 32, numHeads: 32,
                                 numKVHeads: 8, headDim: 128, rmsNormEps: 1e-5, ropeTheta: 500000, tieWordEmbeddings: false)
        XCTAssertEqual(eightB.parameterCount, 8_030_261_248)
    }

    func parseError(_ edit: (inout [String: Any]) -> Void) throws -> String {
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: try GoldenFixture("tiny-llama32").path("config.v4.json")))) as! [String: Any]
        edit(&json)
        do {
            _ = try LlamaConfig.parse(try JSONSerialization.data(withJSONObject: json), file: "config.json")
            return ""
        } catch {
            return error.localizedDescription
        }
    }

    func testUnsupportedConfigsAreRefusedByName() throws {
        XCTAssertTrue(try parseError { $0["rope_scaling"] = ["rope_type": "yarn", "factor": 4.0] }.contains("\"yarn\""))
        XCTAssertTrue(try parseError { $0["rope_scaling"] = ["type": "dynamic", "factor": 4.0] }.contains("\"dynamic\""))
        XCTAssertTrue(try parseError { $0["attention_bias"] = true }.contains("attention_bias"))
        XCTAssertTrue(try parseError { $0["mlp_bias"] = true }.contains("mlp_bias"))
        XCTAssertTrue(try parseError { $0["architectures"] = ["MistralForCausalLM"] }.contains("MistralForCausalLM"))
        XCTAssertTrue(try parseError { $0["model_type"] = "qwen2" }.contains("qwen2"))
        XCTAssertTrue(try parseError { $0.removeValue(forKey: "rope_theta") }.contains("rope_theta"))
        XCTAssertTrue(try parseError { $0.removeValue(forKey: "rms_norm_eps") }.contains("rms_norm_eps"))
        XCTAssertTrue(try parseError { $0.removeValue(forKey: "hidden_size") }.contains("hidden_size"))
        XCTAssertTrue(try parseError { $0["num_key_value_heads"] = 3 }.contains("num_key_value_heads"))
        XCTAssertTrue(try parseError { $0["rope_scaling"] = ["rope_type": "llama3", "factor": 8.0] }.contains("low_freq_factor"))
        // Legacy "type" key and eos as a list are accepted.
        XCTAssertEqual(try parseError {
            $0["rope_scaling"] = ["type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192]
            $0["eos_token_id"] = [128001, 128008, 128009]
        }, "")
    }
}

/// Values that used to trap (integer overflow, a huge allocation) or to give NaN later are refused
/// when the file is read, naming the key.
extension ConfigTests {

    func testHugeSizesAreRefusedByKey() throws {
        for key in ["vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers"] {
            XCTAssertTrue(try parseError { $0[key] = 1 << 40 }.contains(key), key)
        }
        XCTAssertTrue(try parseError { $0["num_attention_heads"] = 1 << 40; $0["num_key_value_heads"] = 1 << 40 }.contains("num_"))
        XCTAssertTrue(try parseError { $0["vocab_size"] = 9.3e18 }.contains("vocab_size"))
    }

    func testRopeValuesThatGiveNaNAreRefused() throws {
        XCTAssertTrue(try parseError { $0["rope_theta"] = 0 }.contains("rope_theta"))
        XCTAssertTrue(try parseError { $0["rope_theta"] = -1 }.contains("rope_theta"))
        let llama3: [String: Any] = ["rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                     "original_max_position_embeddings": 64]
        XCTAssertEqual(try parseError { $0["rope_scaling"] = llama3 }, "")
        for (key, bad) in [("factor", 0.0), ("low_freq_factor", 0.0), ("high_freq_factor", 1.0), ("original_max_position_embeddings", 0.0)] {
            var params = llama3
            params[key] = bad
            XCTAssertTrue(try parseError { $0["rope_scaling"] = params }.contains(key), "\(key) = \(bad)")
        }
    }

    func testAdapterConfigWithHugeRankOrAlphaIsRefusedNotTrapped() throws {
        let f = try GoldenFixture("tiny-llama32")
        let config = try LlamaConfig.load(path: f.path("config.json"))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("adapter-bounds-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Saving an alpha beyond Int's range used to trap converting it to an integer.
        let adapters = LoRAAdapters.initialize(LoRAConfig(rank: 2, alpha: 0x1p63, targets: [.q]), model: config, seed: 1)
        try PEFTAdapter.save(adapters, baseModel: f.dir.path, to: dir)
        let path = dir + "/adapter_config.json"
        var original = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        original["lora_alpha"] = 4
        for (key, value) in [("lora_alpha", 0x1p63), ("lora_alpha", -1.0), ("r", 1e30), ("r", 2.5), ("lora_dropout", 1.0)] as [(String, Double)] {
            var json = original
            json[key] = value
            try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
            XCTAssertThrowsError(try PEFTAdapter.load(directory: dir, model: config), "\(key) = \(value)") { error in
                XCTAssertTrue(error.localizedDescription.contains(key), error.localizedDescription)
            }
        }
    }
}

extension ConfigTests {
    /// A value of the wrong type is reported as a bad value of that key: never as missing, never
    /// silently replaced by a default.
    func testWrongTypesAreBadValuesNotMissingOrDefaults() throws {
        let cases: [(String, Any)] = [("rope_theta", "500000"), ("tie_word_embeddings", "true"), ("eos_token_id", "2"),
                                      ("hidden_act", 7), ("num_key_value_heads", true), ("hidden_size", 64.5),
                                      ("tie_word_embeddings", 1), ("bos_token_id", -1)]
        for (key, value) in cases {
            let message = try parseError { $0[key] = value }
            XCTAssertTrue(message.contains("key \"\(key)\""), "\(key) = \(value): \(message)")
            XCTAssertFalse(message.contains("missing"), "\(key) = \(value): \(message)")
        }
        let nested = try parseError { $0["rope_scaling"] = ["rope_type": "llama3", "factor": "8", "low_freq_factor": 1.0,
                                                             "high_freq_factor": 4.0, "original_max_position_embeddings": 8192] }
        XCTAssertTrue(nested.contains("key \"rope_scaling.factor\""), nested)
    }
}
