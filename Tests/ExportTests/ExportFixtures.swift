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
