import Foundation
import SafeTensors
import TestSupport
import XCTest

/// The fixture files written by Python safetensors load with the names, shapes and dtypes that the
/// fixture's config implies, and BF16 widening is exact.
final class GoldenReadTests: XCTestCase {
    private struct Config {
        let vocab, hidden, intermediate, layers, heads, kvHeads, headDim: Int
        let tied: Bool
    }

    private func config(_ model: String) throws -> Config {
        let url = try SharedFixtures.path("golden/\(model)/config.json")
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        func int(_ k: String) throws -> Int { try XCTUnwrap(json[k] as? Int, "config.\(k)") }
        return Config(vocab: try int("vocab_size"), hidden: try int("hidden_size"),
                      intermediate: try int("intermediate_size"), layers: try int("num_hidden_layers"),
                      heads: try int("num_attention_heads"), kvHeads: try int("num_key_value_heads"),
                      headDim: try int("head_dim"), tied: (json["tie_word_embeddings"] as? Bool) ?? false)
    }

    /// HF Llama tensor names and shapes (docs/formats.md, Tensor names), derived from the config.
    private func expectedWeights(_ c: Config) -> [String: [Int]] {
        var w: [String: [Int]] = ["model.embed_tokens.weight": [c.vocab, c.hidden], "model.norm.weight": [c.hidden]]
        if !c.tied { w["lm_head.weight"] = [c.vocab, c.hidden] }
        for l in 0..<c.layers {
            let p = "model.layers.\(l)."
            w[p + "input_layernorm.weight"] = [c.hidden]
            w[p + "post_attention_layernorm.weight"] = [c.hidden]
            w[p + "self_attn.q_proj.weight"] = [c.heads * c.headDim, c.hidden]
            w[p + "self_attn.k_proj.weight"] = [c.kvHeads * c.headDim, c.hidden]
            w[p + "self_attn.v_proj.weight"] = [c.kvHeads * c.headDim, c.hidden]
            w[p + "self_attn.o_proj.weight"] = [c.hidden, c.heads * c.headDim]
            w[p + "mlp.gate_proj.weight"] = [c.intermediate, c.hidden]
            w[p + "mlp.up_proj.weight"] = [c.intermediate, c.hidden]
            w[p + "mlp.down_proj.weight"] = [c.hidden, c.intermediate]
        }
        return w
    }

    private func checkModel(_ model: String, file: String, dtype: DType) throws {
        let c = try config(model)
        let f = try SafeTensorsFile(path: try SharedFixtures.path("golden/\(model)/\(file)").path)
        XCTAssertEqual(f.metadata, ["format": "pt"])
        let expected = expectedWeights(c)
        XCTAssertEqual(Set(f.names), Set(expected.keys))
        XCTAssertEqual(f.names.count, expected.count)
        for (name, shape) in expected {
            let info = try XCTUnwrap(f.info(name), name)
            XCTAssertEqual(info.shape, shape, name)
            XCTAssertEqual(info.dtype, dtype, name)
            XCTAssertEqual(info.byteCount, shape.reduce(1, *) * dtype.byteSize!, name)
        }
    }

    func testModelFilesLoad() throws {
        for model in ["tiny-llama3", "tiny-llama32"] {
            try checkModel(model, file: "model.safetensors", dtype: .f32)
            try checkModel(model, file: "model-bf16/model.safetensors", dtype: .bf16)
            try checkModel(model, file: "merged/model.safetensors", dtype: .f32)
        }
    }

    func testAdapterLoads() throws {
        let c = try config("tiny-llama3")
        let adapterConfigURL = try SharedFixtures.path("golden/tiny-llama3/adapter/adapter_config.json")
        let adapterConfig = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: Data(contentsOf: adapterConfigURL)) as? [String: Any])
        let r = try XCTUnwrap(adapterConfig["r"] as? Int)
        let f = try SafeTensorsFile(path: try SharedFixtures.path("golden/tiny-llama3/adapter/adapter_model.safetensors").path)
        let projections: [(String, Int, Int)] = [  // module, in, out
            ("self_attn.q_proj", c.hidden, c.heads * c.headDim), ("self_attn.k_proj", c.hidden, c.kvHeads * c.headDim),
            ("self_attn.v_proj", c.hidden, c.kvHeads * c.headDim), ("self_attn.o_proj", c.heads * c.headDim, c.hidden),
            ("mlp.gate_proj", c.hidden, c.intermediate), ("mlp.up_proj", c.hidden, c.intermediate),
            ("mlp.down_proj", c.intermediate, c.hidden),
        ]
        var expected: [String: [Int]] = [:]
        for l in 0..<c.layers {
            for (module, inF, outF) in projections {
                let base = "base_model.model.model.layers.\(l).\(module)"
                expected[base + ".lora_A.weight"] = [r, inF]
                expected[base + ".lora_B.weight"] = [outF, r]
            }
        }
        XCTAssertEqual(Set(f.names), Set(expected.keys))
        for (name, shape) in expected {
            XCTAssertEqual(f.info(name)?.shape, shape, name)
            XCTAssertEqual(f.info(name)?.dtype, .f32, name)
        }
    }

    func testExpectedOutputsLoadIncludingScalars() throws {
        let f = try SafeTensorsFile(path: try SharedFixtures.path("golden/tiny-llama3/expected.safetensors").path)
        let loss = try XCTUnwrap(f.info("loss.batch"))
        XCTAssertEqual(loss.shape, [])
        XCTAssertEqual(loss.count, 1)
        let value = try f.float32Array("loss.batch")
        XCTAssertEqual(value.count, 1)
        // A mean NLL over a 512-token random vocabulary is positive and near ln(512) ≈ 6.2.
        XCTAssertGreaterThan(value[0], 1)
        XCTAssertLessThan(value[0], 20)
    }

    func testNamesAreInOffsetOrder() throws {
        let f = try SafeTensorsFile(path: try SharedFixtures.path("golden/tiny-llama3/model.safetensors").path)
        let starts = f.names.map { f.info($0)!.byteRange.lowerBound }
        XCTAssertEqual(starts, starts.sorted())
        XCTAssertEqual(starts.first, 0)
    }

    /// The BF16 model is the F32 model rounded to nearest even (fixture README); widening must give
    /// exactly those rounded values, and the bit pattern must be the stored halfword shifted left 16.
    func testBF16WideningIsExact() throws {
        for model in ["tiny-llama3", "tiny-llama32"] {
            let f32 = try SafeTensorsFile(path: try SharedFixtures.path("golden/\(model)/model.safetensors").path)
            let bf16 = try SafeTensorsFile(path: try SharedFixtures.path("golden/\(model)/model-bf16/model.safetensors").path)
            XCTAssertEqual(Set(f32.names), Set(bf16.names))
            for name in f32.names {
                let full = try f32.float32Array(name)
                let widened = try bf16.float32Array(name)
                let raw = try bf16.rawBytes(name)
                XCTAssertEqual(full.count, widened.count)
                var mismatches = 0
                for i in 0..<full.count {
                    if widened[i].bitPattern != roundToBF16(full[i]).bitPattern { mismatches += 1 }
                    let stored = UInt32(raw[2 * i]) | UInt32(raw[2 * i + 1]) << 8
                    if widened[i].bitPattern != stored << 16 { mismatches += 1 }
                }
                XCTAssertEqual(mismatches, 0, "\(model) \(name)")
            }
        }
    }

    /// fp32 → bf16 round-to-nearest-even, written independently of the reader.
    private func roundToBF16(_ x: Float) -> Float {
        let b = x.bitPattern
        let rounded = b &+ 0x7FFF &+ ((b >> 16) & 1)
        return Float(bitPattern: rounded & 0xFFFF_0000)
    }

    func testReadFloat32IntoBufferAndErrors() throws {
        let path = try SharedFixtures.path("golden/tiny-llama3/model-bf16/model.safetensors").path
        let f = try SafeTensorsFile(path: path)
        let name = "model.norm.weight"
        let n = try XCTUnwrap(f.info(name)).count
        var buffer = [Float](repeating: .nan, count: n)
        try buffer.withUnsafeMutableBufferPointer { try f.readFloat32(name, into: $0.baseAddress!, count: n) }
        XCTAssertEqual(buffer, try f.float32Array(name))
        // RMSNorm weights are 1 + 0.1·N(0,1): all finite and near 1.
        XCTAssertTrue(buffer.allSatisfy { $0.isFinite && abs($0 - 1) < 1 })

        assertSafeTensorsError(try buffer.withUnsafeMutableBufferPointer {
            try f.readFloat32(name, into: $0.baseAddress!, count: n - 1)
        }, mentions: [path, name]) {
            if case .countMismatch(_, "model.norm.weight", n, n - 1) = $0 { return true } else { return false }
        }
        assertSafeTensorsError(try f.float32Array("model.nrom.weight"), mentions: [path, "model.nrom.weight"]) {
            if case .tensorNotFound = $0 { return true } else { return false }
        }
        assertSafeTensorsError(try f.rawBytes("nope")) {
            if case .tensorNotFound = $0 { return true } else { return false }
        }
    }

    func testCollectionOpensSingleFileDirectory() throws {
        let dir = try SharedFixtures.path("golden/tiny-llama3/model-bf16").path
        let c = try SafeTensorsCollection(directory: dir)
        XCTAssertNil(c.indexPath)
        let single = try SafeTensorsFile(path: dir + "/model.safetensors")
        XCTAssertEqual(c.names, single.names)
        XCTAssertEqual(try c.info("lm_head.weight"), single.info("lm_head.weight"))
        XCTAssertNil(try c.info("missing"))
        XCTAssertEqual(try c.float32Array("model.norm.weight"), try single.float32Array("model.norm.weight"))
    }
}
