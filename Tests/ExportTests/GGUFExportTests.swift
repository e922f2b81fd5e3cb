import Autodiff
import ChatData
@testable import Export
import Foundation
import GGUF
import Llama
import SafeTensors
import Tensors
import XCTest

/// `export --format gguf` on the embedded tiny model (checkpoints/tiny-base: bf16, Llama 3 specials,
/// 4 heads / 2 KV heads of 32) with a deterministic adapter whose B is non-zero.
final class GGUFExportTests: XCTestCase {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    var tinyBase: String { root + "/checkpoints/tiny-base" }

    /// A PEFT adapter directory with a recipe.json naming the base and the template.
    private func makeSource(base: String, rslora: Bool = false, data: [String: Any] = ["template": "llama3"]) throws -> (String, LoRAAdapters, LlamaConfig) {
        let source = try makeAdapterSource(self, base: base, lora: LoRAConfig(rank: 4, alpha: 8, rslora: rslora), seed: 7,
                                           bScale: 0.05, data: data)
        return (source.path, source.adapters, source.config)
    }

    private func export(_ source: String, _ configure: (inout ExportOptions) -> Void = { _ in }) throws -> ExportReport {
        var options = ExportOptions(source: source, output: try scratchDirectory(self) + "/out")
        options.format = .gguf
        configure(&options)
        return try Exporter.export(options)
    }

    /// A base tensor widened to fp32 (tiny-base is bf16).
    private func baseTensor(_ name: String, base: String) throws -> [Float] {
        let file = try SafeTensorsFile(path: base + "/model.safetensors")
        let raw = try file.rawBytes(name)
        return (0..<raw.count / 2).map { Float(bitPattern: UInt32(raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)) << 16) }
    }

    /// W + s·(B·A) in fp32, HF row order (the product as PEFT forms it: (B @ A) · scale, added once).
    private func merged(_ w: [Float], _ pair: LoRAPair, scale: Float, rows: Int, columns: Int) -> [Float] {
        var delta = [Float](repeating: 0, count: rows * columns)
        let rank = pair.a.value.shape[0]
        delta.withUnsafeMutableBufferPointer {
            sgemm(transA: false, transB: false, m: rows, n: columns, k: rank, pair.b.value.data, lda: rank, pair.a.value.data,
                  ldb: columns, $0.baseAddress!, ldc: columns)
        }
        return zip(w, delta).map { $0 + $1 * scale }
    }

    /// llama.cpp's q/k row order, written out independently of the exporter: within each head of `d`
    /// rows, GGUF row 2j + c is HF row c·d/2 + j.
    private func ggufRowOrder(_ x: [Float], rows: Int, columns: Int, headDim d: Int) -> [Float] {
        var out = x
        for h in 0..<(rows / d) {
            for j in 0..<(d / 2) {
                for c in 0..<2 {
                    let from = (h * d + c * d / 2 + j) * columns, to = (h * d + 2 * j + c) * columns
                    out.replaceSubrange(to..<to + columns, with: x[from..<from + columns])
                }
            }
        }
        return out
    }

    private func bytes(_ file: GGUFFile, _ name: String) throws -> [UInt8] {
        let info = try XCTUnwrap(file.tensor(named: name), "no tensor \(name)")
        return [UInt8](file.bytes(of: info))
    }

    private func encoded(_ x: [Float], as type: GGMLType) -> [UInt8] {
        switch type {
        case .f32: return x.withUnsafeBytes { [UInt8]($0) }
        case .q8_0:
            var out = [UInt8](repeating: 0, count: x.count / 32 * 34)
            x.withUnsafeBufferPointer { src in out.withUnsafeMutableBytes { Q8_0Quantizer.quantize(src.baseAddress!, count: x.count, into: $0.baseAddress!) } }
            return out
        default:
            let bits = type == .f16 ? x.map { Float16($0).bitPattern } : x.map(floatToBF16)
            return bits.withUnsafeBytes { [UInt8]($0) }
        }
    }

    func testMergedTensorsEqualBasePlusScaledDeltaRoundedOnce() throws {
        let (source, adapters, c) = try makeSource(base: tinyBase)
        for type in [GGUFOutputType.f32, .q8_0, .f16] {
            let report = try export(source) { $0.ggufType = type }
            let file = try GGUFFile(path: report.output + "/model.gguf")
            var names = ["token_embd.weight", "output_norm.weight", "output.weight"]
            XCTAssertEqual(try bytes(file, "token_embd.weight"), encoded(try baseTensor("model.embed_tokens.weight", base: tinyBase), as: type.ggmlType))
            XCTAssertEqual(try bytes(file, "output.weight"), encoded(try baseTensor("lm_head.weight", base: tinyBase), as: type.ggmlType))
            XCTAssertEqual(try bytes(file, "output_norm.weight"), encoded(try baseTensor("model.norm.weight", base: tinyBase), as: .f32))
            for layer in 0..<c.numLayers {
                XCTAssertEqual(try bytes(file, "blk.\(layer).attn_norm.weight"),
                               encoded(try baseTensor("model.layers.\(layer).input_layernorm.weight", base: tinyBase), as: .f32))
                XCTAssertEqual(try bytes(file, "blk.\(layer).ffn_norm.weight"),
                               encoded(try baseTensor("model.layers.\(layer).post_attention_layernorm.weight", base: tinyBase), as: .f32))
                names += ["blk.\(layer).attn_norm.weight", "blk.\(layer).ffn_norm.weight"]
                let ggufNames: [Projection: String] = [.q: "attn_q", .k: "attn_k", .v: "attn_v", .o: "attn_output",
                                                       .gate: "ffn_gate", .up: "ffn_up", .down: "ffn_down"]
                for p in Projection.allCases {
                    let shape = p.shape(c), name = "blk.\(layer).\(ggufNames[p]!).weight"
                    names.append(name)
                    let pair = try XCTUnwrap(adapters.pairs[layer][p])
                    var w = merged(try baseTensor(p.path(layer: layer) + ".weight", base: tinyBase), pair, scale: adapters.config.scale,
                                   rows: shape[0], columns: shape[1])
                    if p == .q || p == .k { w = ggufRowOrder(w, rows: shape[0], columns: shape[1], headDim: c.headDim) }
                    let info = try XCTUnwrap(file.tensor(named: name))
                    XCTAssertEqual(info.dimensions, [shape[1], shape[0]], name)
                    XCTAssertEqual(info.type, type.ggmlType, name)
                    XCTAssertEqual(try bytes(file, name), encoded(w, as: type.ggmlType), "\(name) as \(type)")
                }
            }
            XCTAssertEqual(Set(file.tensors.map(\.name)), Set(names))
            XCTAssertEqual(report.mergedTensorCount, c.numLayers * 7)
        }
    }

    /// The product in Double, element by element, agrees with the file: the merge really is W + s·B·A
    /// (not Aᵀ·Bᵀ, not unscaled) and q rows really moved.
    func testMergedValuesAgreeWithADoubleReference() throws {
        let (source, adapters, c) = try makeSource(base: tinyBase)
        let report = try export(source) { $0.ggufType = .f32 }
        let file = try GGUFFile(path: report.output + "/model.gguf")
        let pair = try XCTUnwrap(adapters.pairs[1][.q])
        let shape = Projection.q.shape(c), rank = 4
        let w = try baseTensor(Projection.q.path(layer: 1) + ".weight", base: tinyBase)
        let info = try XCTUnwrap(file.tensor(named: "blk.1.attn_q.weight"))
        var got = [Float](repeating: 0, count: info.elementCount)
        try got.withUnsafeMutableBufferPointer { try file.dequantize(info, into: $0.baseAddress!) }
        var worst = 0.0
        for ggufRow in 0..<shape[0] {
            let head = ggufRow / c.headDim, within = ggufRow % c.headDim
            let hfRow = head * c.headDim + (within % 2) * (c.headDim / 2) + within / 2
            for col in 0..<shape[1] {
                var delta = 0.0
                for k in 0..<rank { delta += Double(pair.b.value[hfRow * rank + k]) * Double(pair.a.value[k * shape[1] + col]) }
                let want = Double(w[hfRow * shape[1] + col]) + Double(adapters.config.scale) * delta
                worst = max(worst, abs(Double(got[ggufRow * shape[1] + col]) - want))
            }
        }
        XCTAssertLessThan(worst, 1e-6)
    }

    func testMetadataCarriesTokenizerTemplateAndStopTokens() throws {
        let (source, _, c) = try makeSource(base: tinyBase, data: ["template": "llama3.1", "template_date": "01 Jan 2025",
                                                                     "system_prompt": "Be brief."])
        let report = try export(source)
        let file = try GGUFFile(path: report.output + "/model.gguf")
        XCTAssertEqual(file["general.architecture"], .string("llama"))
        XCTAssertEqual(file["general.type"], .string("model"))
        XCTAssertEqual(file["general.file_type"], .uint32(1))
        XCTAssertEqual(file["llama.block_count"], .uint32(UInt32(c.numLayers)))
        XCTAssertEqual(file["llama.embedding_length"], .uint32(UInt32(c.hiddenSize)))
        XCTAssertEqual(file["llama.feed_forward_length"], .uint32(UInt32(c.intermediateSize)))
        XCTAssertEqual(file["llama.attention.head_count"], .uint32(4))
        XCTAssertEqual(file["llama.attention.head_count_kv"], .uint32(2))
        XCTAssertEqual(file["llama.rope.freq_base"], .float32(500000))
        XCTAssertEqual(file["llama.attention.layer_norm_rms_epsilon"], .float32(1e-5))
        XCTAssertEqual(file["llama.context_length"], .uint32(2048))
        XCTAssertEqual(file["llama.rope.dimension_count"], .uint32(32))
        XCTAssertEqual(file["tokenizer.ggml.model"], .string("gpt2"))
        XCTAssertEqual(file["tokenizer.ggml.pre"], .string("llama-bpe"))

        // Tokens and merges are tokenizer.json's, by id; the special ids are the template's.
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: tinyBase + "/tokenizer.json"))) as! [String: Any]
        let model = json["model"] as! [String: Any]
        let tokens = try XCTUnwrap(file["tokenizer.ggml.tokens"]?.arrayValue).compactMap(\.stringValue)
        XCTAssertEqual(tokens.count, 1024)
        for (token, id) in model["vocab"] as! [String: Int] { XCTAssertEqual(tokens[id], token) }
        let types = try XCTUnwrap(file["tokenizer.ggml.token_type"]?.arrayValue).compactMap(\.intValue)
        for case let added as [String: Any] in json["added_tokens"] as! [Any] {
            XCTAssertEqual(tokens[added["id"] as! Int], added["content"] as? String)
            XCTAssertEqual(types[added["id"] as! Int], 3, "special tokens are CONTROL")
        }
        let merges = try XCTUnwrap(file["tokenizer.ggml.merges"]?.arrayValue).compactMap(\.stringValue)
        XCTAssertEqual(merges, (model["merges"] as! [Any]).map { ($0 as? String) ?? ($0 as! [String]).joined(separator: " ") })
        let eot = try XCTUnwrap(tokens.firstIndex(of: "<|eot_id|>"))
        XCTAssertEqual(file["tokenizer.ggml.eos_token_id"], .uint32(UInt32(eot)))
        XCTAssertEqual(file["tokenizer.ggml.eot_token_id"], .uint32(UInt32(eot)))
        XCTAssertEqual(file["tokenizer.ggml.bos_token_id"], .uint32(UInt32(tokens.firstIndex(of: "<|begin_of_text|>")!)))
        XCTAssertEqual(file["tokenizer.ggml.add_bos_token"], .bool(true))
        let format = ChatFormat(template: .llama31, date: "01 Jan 2025", systemPrompt: "Be brief.")
        XCTAssertEqual(file["tokenizer.chat_template"], .string(format.jinja))
        XCTAssertTrue(format.jinja.contains("'01 Jan 2025'") && format.jinja.contains("'Be brief.'"))

        let modelfile = try String(contentsOfFile: report.output + "/Modelfile", encoding: .utf8)
        XCTAssertTrue(modelfile.contains("\nFROM ./model.gguf\n"))
        XCTAssertTrue(modelfile.contains("TEMPLATE \"\"\"" + format.ollamaTemplate + "\"\"\"\n"))
        XCTAssertTrue(modelfile.contains("Today Date: 01 Jan 2025"))
        XCTAssertTrue(modelfile.contains("\nSYSTEM \"\"\"Be brief.\"\"\"\n"))
        let stops = modelfile.split(separator: "\n").filter { $0.hasPrefix("PARAMETER stop ") }
        XCTAssertEqual(stops, ["PARAMETER stop \"<|eot_id|>\"", "PARAMETER stop \"<|end_of_text|>\"", "PARAMETER stop \"<|start_header_id|>\""])
    }

    func testTiedBaseWritesNoOutputTensor() throws {
        let base = try scratchDirectory(self) + "/tied"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        for name in ["model.safetensors", "tokenizer.json", "tokenizer_config.json", "generation_config.json"] {
            try FileManager.default.copyItem(atPath: tinyBase + "/" + name, toPath: base + "/" + name)
        }
        let config = try String(contentsOfFile: tinyBase + "/config.json", encoding: .utf8)
            .replacingOccurrences(of: "\"tie_word_embeddings\" : false", with: "\"tie_word_embeddings\" : true")
        try writeText(config, base + "/config.json")
        let (source, _, c) = try makeSource(base: base)
        XCTAssertTrue(c.tieWordEmbeddings)
        let file = try GGUFFile(path: try export(source).output + "/model.gguf")
        XCTAssertNil(file.tensor(named: "output.weight"))
        XCTAssertNotNil(file.tensor(named: "token_embd.weight"))
    }

    func testAdapterGGUFHasLlamaCppLayoutAndRoundTrips() throws {
        for rslora in [false, true] {
            let (source, adapters, c) = try makeSource(base: tinyBase, rslora: rslora)
            let report = try export(source) { $0.adapterOnly = true }
            XCTAssertNotNil(report.adapterRoundTrip)
            let file = try GGUFFile(path: report.output + "/adapter.gguf")
            XCTAssertEqual(file["general.type"], .string("adapter"))
            XCTAssertEqual(file["general.architecture"], .string("llama"))
            XCTAssertEqual(file["adapter.type"], .string("lora"))
            // llama.cpp scales by alpha / r: alpha is written so that this is the training scale.
            XCTAssertEqual(file["adapter.lora.alpha"], .float32(adapters.config.scale * 4))
            XCTAssertEqual(file.tensors.count, c.numLayers * 7 * 2)
            let pair = try XCTUnwrap(adapters.pairs[0][.k])
            let shape = Projection.k.shape(c)
            let a = try XCTUnwrap(file.tensor(named: "blk.0.attn_k.weight.lora_a"))
            let b = try XCTUnwrap(file.tensor(named: "blk.0.attn_k.weight.lora_b"))
            XCTAssertEqual(a.dimensions, [shape[1], 4])
            XCTAssertEqual(b.dimensions, [4, shape[0]])
            XCTAssertEqual(try bytes(file, a.name), encoded(pair.a.value.array, as: .f32))
            XCTAssertEqual(try bytes(file, b.name), encoded(ggufRowOrder(pair.b.value.array, rows: shape[0], columns: 4, headDim: c.headDim), as: .f32))
            let v = try XCTUnwrap(adapters.pairs[0][.v])
            XCTAssertEqual(try bytes(file, "blk.0.attn_v.weight.lora_b"), encoded(v.b.value.array, as: .f32), "v rows are not permuted")

            let back = try GGUFAdapterReader.load(path: report.output + "/adapter.gguf", model: c)
            XCTAssertEqual(back.config.scale, adapters.config.scale)
            XCTAssertEqual(back.namedParameters.map(\.name), adapters.namedParameters.map(\.name))
            for (x, y) in zip(back.namedParameters, adapters.namedParameters) { XCTAssertEqual(x.variable.value.array, y.variable.value.array, x.name) }
        }
    }

    /// A GGUF file as the base: its weights are dequantized with q/k rows returned to Hugging Face order,
    /// merged, and written back in llama.cpp's order; its vocabulary is carried over.
    func testMergedExportFromAGGUFBase() throws {
        let (first, _, _) = try makeSource(base: tinyBase)
        let baseFile = try scratchDirectory(self) + "/base.gguf"
        try FileManager.default.copyItem(atPath: try export(first) { $0.ggufType = .f32 }.output + "/model.gguf", toPath: baseFile)

        let (source, adapters, c) = try makeSource(base: baseFile)
        let report = try export(source) { $0.ggufType = .f32 }
        let base = try GGUFFile(path: baseFile), out = try GGUFFile(path: report.output + "/model.gguf")
        func floats(_ file: GGUFFile, _ name: String) throws -> [Float] {
            let info = try XCTUnwrap(file.tensor(named: name))
            var x = [Float](repeating: 0, count: info.elementCount)
            try x.withUnsafeMutableBufferPointer { try file.dequantize(info, into: $0.baseAddress!) }
            return x
        }
        /// The inverse of `ggufRowOrder`: HF row c·d/2 + j is GGUF row 2j + c.
        func hfRowOrder(_ x: [Float], rows: Int, columns: Int) -> [Float] {
            var out = x
            let d = c.headDim
            for h in 0..<(rows / d) {
                for j in 0..<(d / 2) {
                    for k in 0..<2 {
                        let from = (h * d + 2 * j + k) * columns, to = (h * d + k * d / 2 + j) * columns
                        out.replaceSubrange(to..<to + columns, with: x[from..<from + columns])
                    }
                }
            }
            return out
        }
        for (p, name) in [(Projection.q, "attn_q"), (.k, "attn_k"), (.down, "ffn_down")] {
            let shape = p.shape(c), gguf = "blk.2.\(name).weight"
            var w = try floats(base, gguf)
            if p != .down { w = hfRowOrder(w, rows: shape[0], columns: shape[1]) }
            var want = merged(w, try XCTUnwrap(adapters.pairs[2][p]), scale: adapters.config.scale, rows: shape[0], columns: shape[1])
            if p != .down { want = ggufRowOrder(want, rows: shape[0], columns: shape[1], headDim: c.headDim) }
            XCTAssertEqual(try floats(out, gguf), want, gguf)
        }
        XCTAssertEqual(try floats(out, "token_embd.weight"), try floats(base, "token_embd.weight"))
        XCTAssertEqual(out["tokenizer.ggml.tokens"], base["tokenizer.ggml.tokens"])
        XCTAssertEqual(out["tokenizer.ggml.merges"], base["tokenizer.ggml.merges"])
        XCTAssertEqual(out["tokenizer.ggml.pre"], .string("llama-bpe"))
        XCTAssertEqual(out["tokenizer.ggml.eos_token_id"], base["tokenizer.ggml.eot_token_id"])
    }

    func testSourceWithoutRecipeNeedsATemplate() throws {
        let (source, _, _) = try makeSource(base: tinyBase)
        try FileManager.default.removeItem(atPath: source + "/recipe.json")
        XCTAssertThrowsError(try export(source) { $0.baseModel = self.tinyBase }) { error in
            XCTAssertTrue(error.localizedDescription.contains("--template"), error.localizedDescription)
        }
        let report = try export(source) { $0.baseModel = self.tinyBase; $0.chatTemplate = .llama3 }
        let file = try GGUFFile(path: report.output + "/model.gguf")
        XCTAssertEqual(file["tokenizer.chat_template"], .string(ChatFormat(template: .llama3).jinja))
    }

    /// A template whose end-of-turn token the vocabulary lacks is refused, naming the token.
    func testTemplateWithoutItsEndTokenIsRefused() throws {
        let (source, _, _) = try makeSource(base: tinyBase, data: ["template": "chatml"])
        XCTAssertThrowsError(try export(source)) { error in
            XCTAssertTrue(error.localizedDescription.contains("<|im_end|>"), error.localizedDescription)
        }
    }
}
