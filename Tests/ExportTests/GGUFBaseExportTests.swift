import ChatData
@testable import Export
import Foundation
import GGUF
import Llama
import TestSupport
import Tokenizer
import XCTest

/// Exports whose base is a GGUF file: a merged Hugging Face directory made from the SmolLM2 Q4_1 asset
/// (weights dequantized, config/tokenizer from the metadata), the merged GGUF's logits check, and the
/// llama3 `rope_scaling` recovered from llama.cpp's `rope_freqs` divisors.
final class GGUFBaseExportTests: XCTestCase {
    static func smolLM2() throws -> String {
        try SharedFixtures.path("assets/smollm2-135m-instruct-q4_1/SmolLM2-135M-Instruct.Q4_1.gguf").path
    }

    /// A PEFT adapter (B non-zero) with a recipe.json naming `base` and ChatML, SmolLM2's format.
    private func makeSource(base: String, rank: Int = 4) throws -> (String, LoRAAdapters) {
        let source = try makeAdapterSource(self, base: base, lora: LoRAConfig(rank: rank, alpha: Double(2 * rank)), seed: 11,
                                           bScale: 0.02, data: ["template": "chatml", "system_prompt": "You are SmolLM."])
        return (source.path, source.adapters)
    }

    /// SmolLM2 Q4_1 + adapter → f32 safetensors: our loader reads the folder back as the same model (logits
    /// within 1e-4 of the largest, the merged weights differing from base + adapter by fp32 summation order
    /// only), and its tokenizer.json gives SmolLM2's ids on every golden tokenizer case (the expected ids
    /// are the reference file of the GGUF tokenizer tests, made with HF tokenizers).
    func testSafetensorsExportFromTheSmolLM2GGUF() throws {
        let gguf = try Self.smolLM2()
        let (source, adapters) = try makeSource(base: gguf)
        var options = ExportOptions(source: source, output: try scratchDirectory(self) + "/hf", dtype: .f32)
        options.check = true
        let report = try Exporter.export(options)
        XCTAssertEqual(report.kind, .merged)
        XCTAssertEqual(try XCTUnwrap(report.check).passed, true)
        for name in ["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors"] {
            XCTAssertTrue(report.files.contains(name), "\(name) missing: \(report.files)")
        }

        // Config: every field as the GGUF metadata gives it.
        let base = try LlamaConfig.load(path: gguf), back = try LlamaConfig.load(path: report.output)
        XCTAssertEqual(back.vocabSize, base.vocabSize)
        XCTAssertEqual(back.hiddenSize, base.hiddenSize)
        XCTAssertEqual(back.intermediateSize, base.intermediateSize)
        XCTAssertEqual(back.numLayers, base.numLayers)
        XCTAssertEqual(back.numHeads, base.numHeads)
        XCTAssertEqual(back.numKVHeads, base.numKVHeads)
        XCTAssertEqual(back.headDim, base.headDim)
        XCTAssertEqual(back.rmsNormEps, base.rmsNormEps)
        XCTAssertEqual(back.ropeTheta, base.ropeTheta)
        XCTAssertEqual(back.ropeScaling, .none)
        XCTAssertTrue(back.tieWordEmbeddings)
        XCTAssertEqual(back.bosTokenID, 1)
        XCTAssertEqual(back.eosTokenIDs, [2])

        // Logits: the exported folder vs the GGUF base with the adapter applied on the fly.
        let reference = try LlamaModel.load(directory: gguf)
        reference.adapters = adapters
        let exported = try LlamaModel.load(directory: report.output)
        let tokenizer = try Tokenizer.load(path: report.output + "/tokenizer.json")
        // <|im_start|> = 1 and <|im_end|> = 2 (ChatML), the text between them from the exported tokenizer.
        let ids = [1] + tokenizer.encode("user\nWhat is the capital of France? Answer in 12 words.") + [2]
            + tokenizer.encode("\n") + [1] + tokenizer.encode("assistant\n")
        let want = logits(reference, ids), got = logits(exported, ids)
        XCTAssertLessThanOrEqual(scaledMaxError(got, want), 1e-4)
        reference.adapters = nil
        XCTAssertGreaterThan(scaledMaxError(logits(reference, ids), want), 1e-3, "the adapter must change the logits for the test to mean anything")

        // Tokenizer: SmolLM2's ids on every golden case, special tokens as in the GGUF.
        XCTAssertEqual(tokenizer.specialTokenID("<|im_start|>"), 1)
        XCTAssertEqual(tokenizer.specialTokenID("<|im_end|>"), 2)
        let cases = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: try SharedFixtures.path("golden/chat/tokenizer_cases.json"))) as? [[String: Any]])
        let expectedURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("TrainingTests/Fixtures/smollm2_tokenizer_ids.json")
        let expected = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: expectedURL)) as? [[String: Any]])
        XCTAssertEqual(cases.count, expected.count)
        var failures = 0
        for (c, e) in zip(cases, expected) where tokenizer.encode(c["text"] as! String) != (e["ids"] as! [Int]) {
            failures += 1
            if failures <= 3 { XCTFail("\((c["text"] as! String).debugDescription): \(tokenizer.encode(c["text"] as! String))") }
        }
        XCTAssertEqual(failures, 0)

        // tokenizer_config.json and generation_config.json: the trained template, its end token as EOS.
        let tokenizerConfig = try readJSONObject(report.output + "/tokenizer_config.json")
        XCTAssertEqual(tokenizerConfig["chat_template"] as? String, ChatFormat(template: .chatml, systemPrompt: "You are SmolLM.").jinja)
        XCTAssertEqual(tokenizerConfig["eos_token"] as? String, "<|im_end|>")
        XCTAssertEqual(tokenizerConfig["bos_token"] as? String, "<|im_start|>")
        XCTAssertEqual(tokenizerConfig["add_bos_token"] as? Bool, false)
        XCTAssertEqual(try readJSONObject(report.output + "/generation_config.json")["eos_token_id"] as? Int, 2)
        let config = try readJSONObject(report.output + "/config.json")
        XCTAssertEqual(config["architectures"] as? [String], ["LlamaForCausalLM"])
        XCTAssertEqual(config["torch_dtype"] as? String, "float32")
    }

    /// `llama-bpe` (Llama 3): the vocabulary as a GGUF holds it (made from Meta's tokenizer.json the way
    /// llama.cpp's converter does) written back as tokenizer.json gives tiktoken's golden ids, with
    /// `<|begin_of_text|>` in the BOS post-processor.
    func testLlama3VocabularyWritesATokenizerJSONWithTheGoldenIDs() throws {
        let meta = try SharedFixtures.path("assets/llama3-tokenizer/tokenizer.json").path
        let vocabulary = try GGUFVocabulary.load(tokenizerJSON: meta, vocabularySize: 128_256, preTokenizer: [.llama3])
        XCTAssertEqual(vocabulary.pre, "llama-bpe")
        let data = try GGUFBaseModelFiles.tokenizerJSON(vocabulary, bos: (128_000, "<|begin_of_text|>"), path: "x.gguf")
        let path = try scratchDirectory(self) + "/tokenizer.json"
        try data.write(to: URL(fileURLWithPath: path))
        let tokenizer = try Tokenizer.load(path: path)
        XCTAssertEqual(tokenizer.specialTokenID("<|eot_id|>"), 128_009)
        let cases = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: try SharedFixtures.path("golden/chat/tokenizer_cases.json"))) as? [[String: Any]])
        var failures = 0
        for c in cases where tokenizer.encode(c["text"] as! String) != (c["ids"] as! [Int]) { failures += 1 }
        XCTAssertEqual(failures, 0, "of \(cases.count) golden cases")
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual((json["post_processor"] as? [String: Any])?["type"] as? String, "TemplateProcessing")
        XCTAssertEqual((json["model"] as? [String: Any])?["ignore_merges"] as? Bool, true)
        XCTAssertThrowsError(try GGUFBaseModelFiles.tokenizerJSON(GGUFVocabulary(tokens: ["a"], types: [1], merges: [], pre: "qwen2"), bos: nil, path: "x.gguf")) {
            XCTAssertTrue($0.localizedDescription.contains("qwen2"), $0.localizedDescription)
        }
    }

    /// A PEFT adapter exported from a GGUF base names the GGUF (the file names no Hugging Face repository).
    func testAdapterExportFromAGGUFBaseNamesTheFile() throws {
        let gguf = try Self.smolLM2()
        let (source, _) = try makeSource(base: gguf, rank: 2)
        let report = try Exporter.export(ExportOptions(source: source, output: try scratchDirectory(self) + "/peft", adapterOnly: true))
        let config = try readJSONObject(report.output + "/adapter_config.json")
        XCTAssertEqual(config["base_model_name_or_path"] as? String, gguf)
    }

    /// The merged GGUF is loaded by our GGUF model loader and its logits compared with base + adapter
    /// (tolerance by output type, MergeCheck); a GGUF holding another adapter's merge fails the check.
    func testMergedGGUFIsCheckedByLogits() throws {
        let gguf = try Self.smolLM2()
        let (source, adapters) = try makeSource(base: gguf, rank: 2)
        for type in [GGUFOutputType.f32, .q8_0] {
            var options = ExportOptions(source: source, output: try scratchDirectory(self) + "/gguf-\(type.rawValue)")
            options.format = .gguf
            options.ggufType = type
            let report = try Exporter.export(options)
            let check = try XCTUnwrap(report.check, "\(type)")
            XCTAssertTrue(check.passed, check.summary)
            XCTAssertEqual(check.tolerance, MergeCheck.tolerance(ggufType: type, layers: 30, maxAbsReference: check.maxAbsReference))
            XCTAssertGreaterThan(check.maxAbsFromBase, 0)
            if type == .f32 {
                XCTAssertLessThanOrEqual(check.maxAbsDifference, 1e-4 * max(1, check.maxAbsReference))
                // Mutation: the same file checked against an adapter scaled by 3 must fail.
                let other = LoRAAdapters.initialize(adapters.config, model: try LlamaConfig.load(path: gguf), seed: 11)
                for (layer, row) in adapters.pairs.enumerated() {
                    for (p, pair) in row { for i in 0..<pair.b.value.count { other.pairs[layer][p]!.b.value[i] = 3 * pair.b.value[i] } }
                    for (p, pair) in row { for i in 0..<pair.a.value.count { other.pairs[layer][p]!.a.value[i] = pair.a.value[i] } }
                }
                let wrong = try MergeCheck.run(baseDirectory: gguf, mergedGGUF: report.output + "/model.gguf", adapters: other, type: .f32,
                                               weightsChanged: true)
                XCTAssertFalse(wrong.passed, wrong.summary)
            }
        }
    }

    /// Llama 3.1 and 3.2 scaling written as llama.cpp divisors comes back as Meta's published parameters.
    func testLlama3RopeScalingIsRecoveredFromTheDivisors() throws {
        for factor in [8.0, 32.0] {
            var c = LlamaConfig(vocabSize: 16, hiddenSize: 4096, intermediateSize: 16, numLayers: 1, numHeads: 32, numKVHeads: 8,
                                headDim: 128, rmsNormEps: 1e-5, ropeTheta: 500_000, tieWordEmbeddings: false)
            c.ropeScaling = .llama3(factor: factor, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192)
            let divisors = GGUFModelPlan.ropeFreqs(c)
            XCTAssertEqual(try RopeScalingRecovery.llama3(factors: divisors, config: c, path: "x.gguf"), c.ropeScaling)
            var noisy = divisors
            noisy[20] *= 1.01
            XCTAssertThrowsError(try RopeScalingRecovery.llama3(factors: noisy, config: c, path: "x.gguf")) { error in
                XCTAssertTrue(error.localizedDescription.contains("rope_freqs.weight"), error.localizedDescription)
            }
        }
        let plain = LlamaConfig(vocabSize: 16, hiddenSize: 64, intermediateSize: 16, numLayers: 1, numHeads: 2, numKVHeads: 2,
                                headDim: 32, rmsNormEps: 1e-5, ropeTheta: 10_000, tieWordEmbeddings: false)
        XCTAssertEqual(try RopeScalingRecovery.llama3(factors: [Float](repeating: 1, count: 16), config: plain, path: "x.gguf"), .none)
    }
}
