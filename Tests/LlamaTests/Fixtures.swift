import Autodiff
import Foundation
import Llama
import SafeTensors
import Tensors
import TestSupport
import XCTest

/// One golden model fixture of ../shared/golden (tiny-llama3 or tiny-llama32).
struct GoldenFixture {
    let name: String
    let dir: URL
    let sequences: [[Int]]
    let labels: [[Int]]
    let expected: SafeTensorsFile

    init(_ name: String) throws {
        self.name = name
        dir = try SharedFixtures.path("golden/\(name)")
        let inputs = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("inputs.json"))) as! [String: Any]
        sequences = inputs["sequences"] as! [[Int]]
        labels = inputs["labels"] as! [[Int]]
        expected = try SafeTensorsFile(path: dir.appendingPathComponent("expected.safetensors").path)
    }

    func model(subdir: String? = nil) throws -> LlamaModel {
        try LlamaModel.load(directory: subdir.map { dir.appendingPathComponent($0).path } ?? dir.path)
    }

    func path(_ relative: String) -> String { dir.appendingPathComponent(relative).path }

    /// The golden batch through `model` with the fixture's PEFT adapter: backward of the token-weighted
    /// mean loss, so each adapter parameter's `grad` holds the gradient the golden file was made from.
    func batchLossAndGradients(_ model: LlamaModel) throws -> (lossSum: Float, targetCount: Int, adapters: LoRAAdapters) {
        let (adapters, _) = try PEFTAdapter.load(directory: path("adapter"), model: model.config)
        model.adapters = adapters
        let batch = ModelBatch(sequences: sequences, labels: labels)
        let tape = Tape()
        let sum = model.lossSum(batch, tape: tape)
        tape.backward(from: sum, seedScale: 1 / Float(batch.targetCount))
        return (sum.value[0], batch.targetCount, adapters)
    }
}

let fixtureNames = ["tiny-llama3", "tiny-llama32"]

/// max |a − b| ≤ tol · max(1, max |b|) — the parity rule against the transformers goldens.
func assertClose(_ a: [Float], _ b: [Float], tol: Float = 1e-5, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "\(what): sizes differ", file: file, line: line)
    var maxErr: Float = 0, maxRef: Float = 0
    for (x, y) in zip(a, b) { maxErr = max(maxErr, abs(x - y)); maxRef = max(maxRef, abs(y)) }
    XCTAssertLessThanOrEqual(maxErr, tol * max(1, maxRef), "\(what): max abs error \(maxErr), max |ref| \(maxRef)", file: file, line: line)
}

func relativeError(_ a: Double, _ b: Double) -> Double { abs(a - b) / max(abs(b), 1e-30) }

/// ‖a − b‖ / ‖b‖.
func normRelativeError(_ a: [Float], _ b: [Float]) -> Double {
    var d = 0.0, n = 0.0
    for (x, y) in zip(a, b) { d += Double(x - y) * Double(x - y); n += Double(y) * Double(y) }
    return (d / max(n, 1e-30)).squareRoot()
}
