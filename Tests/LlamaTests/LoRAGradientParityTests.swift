import Autodiff
import Foundation
import Llama
import SafeTensors
import Tensors
import XCTest

final class LoRAGradientParityTests: XCTestCase {
    func check(_ name: String, adapterDir: String, gradsFile: String) throws {
        let f = try GoldenFixture(name)
        let model = try f.model()
        let (adapters, _) = try PEFTAdapter.load(directory: f.path(adapterDir), model: model.config)
        model.adapters = adapters
        let golden = try SafeTensorsFile(path: f.path(gradsFile))

        // Adapted logits per sequence.
        for (i, seq) in f.sequences.enumerated() {
            let h = model.forward(ModelBatch(sequences: [seq], labels: nil), tape: Tape(recording: false))
            assertClose(model.logits(hidden: h.value).array, try golden.float32Array("lora_logits.\(i)"), "\(name)/\(adapterDir) lora_logits.\(i)")
        }
        // Gradient of the token-weighted batch loss.
        let batch = ModelBatch(sequences: f.sequences, labels: f.labels)
        let tape = Tape()
        let sum = model.lossSum(batch, tape: tape)
        let loss = Double(sum.value[0]) / Double(batch.targetCount)
        XCTAssertLessThanOrEqual(relativeError(loss, Double(try golden.float32Array("lora_loss.batch")[0])), 1e-6)
        tape.backward(from: sum, seedScale: 1 / Float(batch.targetCount))
        var checked = 0
        for (key, v) in adapters.namedParameters {
            let expected = try golden.float32Array(key)
            let err = normRelativeError(v.grad!.array, expected)
            XCTAssertLessThanOrEqual(err, 1e-4, "\(name)/\(adapterDir) \(key): relative error \(err)")
            checked += 1
        }
        XCTAssertEqual(checked, model.config.numLayers * 14)
    }

    func testLoRAGradients() throws {
        for name in fixtureNames { try check(name, adapterDir: "adapter", gradsFile: "lora_grads.safetensors") }
    }

    func testRSLoRAGradients() throws {
        for name in fixtureNames { try check(name, adapterDir: "adapter-rslora", gradsFile: "lora_grads_rslora.safetensors") }
    }

    func testGradientCheckpointingGivesIdenticalGradients() throws {
        let f = try GoldenFixture("tiny-llama32")
        let model = try f.model()
        let (adapters, _) = try PEFTAdapter.load(directory: f.path("adapter"), model: model.config)
        model.adapters = adapters
        let batch = ModelBatch(sequences: f.sequences, labels: f.labels)
        func grads(_ checkpointing: Bool) -> [[Float]] {
            adapters.zeroGrads()
            let tape = Tape()
            tape.backward(from: model.lossSum(batch, tape: tape, checkpointing: checkpointing), seedScale: 0.1)
            return adapters.namedParameters.map { $0.variable.grad!.array }
        }
        XCTAssertEqual(grads(true), grads(false))
    }

    func testFreshAdapterStartsAtTheBaseModel() throws {
        let f = try GoldenFixture("tiny-llama3")
        let model = try f.model()
        let batch = ModelBatch(sequences: [f.sequences[0]], labels: nil)
        let base = model.forward(batch, tape: Tape(recording: false)).value.array
        model.adapters = LoRAAdapters.initialize(LoRAConfig(rank: 4, alpha: 8), model: model.config, seed: 3)
        XCTAssertEqual(model.forward(batch, tape: Tape(recording: false)).value.array, base)
        // PEFT bound: A ~ U(−1/√in, 1/√in).
        let a = model.adapters!.pairs[0][.down]!.a.value
        let bound = 1 / Float(model.config.intermediateSize).squareRoot()
        XCTAssertLessThanOrEqual(a.array.map(abs).max()!, bound)
        XCTAssertGreaterThan(a.array.map(abs).max()!, 0.9 * bound)
    }
}
