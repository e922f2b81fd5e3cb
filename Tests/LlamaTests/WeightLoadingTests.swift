import Foundation
import Llama
import SafeTensors
import XCTest

final class WeightLoadingTests: XCTestCase {
    /// A copy of tiny-llama3 in a temp dir with its tensors edited by `edit` (name → shape, data).
    func modelDir(_ edit: (inout [(name: String, shape: [Int], data: [Float])]) -> Void) throws -> String {
        let f = try GoldenFixture("tiny-llama3")
        let file = try SafeTensorsFile(path: f.path("model.safetensors"))
        var tensors: [(name: String, shape: [Int], data: [Float])] = try file.names.map { (name: $0, shape: file.info($0)!.shape, data: try file.float32Array($0)) }
        edit(&tensors)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("llama-sft-weights-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: f.path("config.json"), toPath: dir + "/config.json")
        try SafeTensorsWriter.write(float32: tensors, to: dir + "/model.safetensors")
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }

    func loadError(_ dir: String) -> String {
        do { _ = try LlamaModel.load(directory: dir); return "" } catch { return error.localizedDescription }
    }

    func testMissingTensorIsNamed() throws {
        let dir = try modelDir { $0.removeAll { $0.name == "model.layers.1.mlp.up_proj.weight" } }
        XCTAssertTrue(loadError(dir).contains("model.layers.1.mlp.up_proj.weight"), loadError(dir))
    }

    func testWrongShapeNamesTensorAndBothShapes() throws {
        let dir = try modelDir { t in
            let i = t.firstIndex { $0.name == "model.layers.0.self_attn.k_proj.weight" }!
            t[i] = (t[i].name, [16, 64], Array(t[i].data[0..<(16 * 64)]))
        }
        let message = loadError(dir)
        XCTAssertTrue(message.contains("model.layers.0.self_attn.k_proj.weight"), message)
        XCTAssertTrue(message.contains("[16, 64]") && message.contains("[32, 64]"), message)
    }

    func testMissingLMHeadForUntiedModel() throws {
        let dir = try modelDir { $0.removeAll { $0.name == "lm_head.weight" } }
        XCTAssertTrue(loadError(dir).contains("lm_head.weight"))
    }

    func testMissingConfigAndWeights() throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("llama-sft-empty-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: empty) }
        XCTAssertTrue(loadError(empty).contains("config.json"))
        try FileManager.default.copyItem(atPath: try GoldenFixture("tiny-llama3").path("config.json"), toPath: empty + "/config.json")
        XCTAssertFalse(loadError(empty).isEmpty)
    }

    func testUnusedTensorsAreIgnored() throws {
        // Older conversions carry rotary inv_freq buffers; they are never read.
        let dir = try modelDir { $0.append((name: "model.layers.0.self_attn.rotary_emb.inv_freq", shape: [8], data: [Float](repeating: 1, count: 8))) }
        XCTAssertEqual(loadError(dir), "")
    }

    func testBF16ModelIsMappedNotCopied() throws {
        // The projections point into the file mapping (no fp32 copy is made).
        let model = try LlamaModel.load(directory: try GoldenFixture("tiny-llama3").path("model-bf16"))
        for p in Projection.allCases {
            guard case .bfloat16 = model.weights.layers[1][p].storage else { return XCTFail("\(p) was copied") }
        }
        guard case .bfloat16 = model.weights.lmHead.storage else { return XCTFail("lm_head was copied") }
    }
}
