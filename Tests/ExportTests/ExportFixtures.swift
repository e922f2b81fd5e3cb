import Autodiff
import Export
import Foundation
import Llama
import SafeTensors
import Tensors
import TestSupport
import XCTest

/// One golden model fixture (../shared/golden/tiny-llama3 or tiny-llama32): the fixture folder itself is a
/// model directory (config.json + model.safetensors), `adapter/` the PEFT adapter.
struct ExportFixture {
    let name: String
    let dir: String
    let sequences: [[Int]]

    init(_ name: String) throws {
        self.name = name
        dir = try SharedFixtures.path("golden/\(name)").path
        let inputs = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/inputs.json"))) as! [String: Any]
        sequences = inputs["sequences"] as! [[Int]]
    }

    var adapter: String { dir + "/adapter" }
    var config: LlamaConfig { get throws { try LlamaConfig.load(path: dir) } }
    func file(_ relative: String) throws -> SafeTensorsFile { try SafeTensorsFile(path: dir + "/" + relative) }
}

let exportFixtureNames = ["tiny-llama3", "tiny-llama32"]

/// A fresh scratch folder under the system temp dir, removed when the test ends.
func scratchDirectory(_ test: XCTestCase) throws -> String {
    let path = NSTemporaryDirectory() + "export-tests-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
    return path
}

/// Full logits `[T·V]` of one sequence through the project's model.
func logits(_ model: LlamaModel, _ ids: [Int]) -> [Float] {
    let hidden = model.forward(ModelBatch(sequences: [ids], labels: nil), tape: Tape(recording: false))
    return model.logits(hidden: hidden.value).array
}

/// max |a − b| / max(floor, max |b|).
func scaledMaxError(_ a: [Float], _ b: [Float], floor: Float = 1) -> Float {
    precondition(a.count == b.count, "sizes differ: \(a.count) vs \(b.count)")
    var err: Float = 0, ref: Float = 0
    for (x, y) in zip(a, b) { err = max(err, abs(x - y)); ref = max(ref, abs(y)) }
    return err / max(floor, ref)
}

func readJSONObject(_ path: String) throws -> [String: Any] {
    try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
}

func copyItem(_ from: String, _ to: String) throws {
    try FileManager.default.copyItem(atPath: from, toPath: to)
}

func writeText(_ text: String, _ path: String) throws {
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
}

/// An adapter source folder for export tests: a PEFT adapter whose B matrices are a fixed non-zero
/// pattern (`bScale`·sin, varied per layer and projection, so every merged matrix differs from the base)
/// and a recipe.json naming `base` with `data` as its data section.
func makeAdapterSource(_ test: XCTestCase, base: String, lora: LoRAConfig, seed: UInt64, bScale: Float,
                       data: [String: Any]) throws -> (path: String, adapters: LoRAAdapters, config: LlamaConfig) {
    let config = try LlamaConfig.load(path: base)
    let adapters = LoRAAdapters.initialize(lora, model: config, seed: seed)
    for (layer, row) in adapters.pairs.enumerated() {
        for (p, pair) in row {
            let salt = Float(layer * 7 + Projection.allCases.firstIndex(of: p)!)
            for i in 0..<pair.b.value.count { pair.b.value[i] = bScale * sin(Float(i) * 0.37 + salt) }
        }
    }
    let dir = try scratchDirectory(test) + "/adapter"
    try PEFTAdapter.save(adapters, baseModel: base, to: dir)
    let recipe: [String: Any] = ["model": base, "data": data]
    try JSONSerialization.data(withJSONObject: recipe).write(to: URL(fileURLWithPath: dir + "/recipe.json"))
    return (dir, adapters, config)
}
