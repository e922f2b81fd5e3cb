import Autodiff
import Foundation
import Llama
import SafeTensors
import Tensors
import XCTest

final class ForwardParityTests: XCTestCase {
    func testLogitsAndEveryHiddenStateMatchTransformers() throws {
        for name in fixtureNames {
            let f = try GoldenFixture(name)
            let model = try f.model()
            for (i, seq) in f.sequences.enumerated() {
                var observed: [String: [Float]] = [:]
                let hidden = model.forward(ModelBatch(sequences: [seq], labels: nil), tape: Tape(recording: false)) {
                    observed[$0] = $1.array
                }
                for key in ["embed"] + (0..<model.config.numLayers).map(String.init) + ["final_norm"] {
                    assertClose(observed[key]!, try f.expected.float32Array("hidden.\(i).\(key)"), "\(name) hidden.\(i).\(key)")
                }
                assertClose(model.logits(hidden: hidden.value).array, try f.expected.float32Array("logits.\(i)"), "\(name) logits.\(i)")
            }
        }
    }

    func testLossesMatchTransformers() throws {
        for name in fixtureNames {
            let f = try GoldenFixture(name)
            let model = try f.model()
            for i in f.sequences.indices {
                let batch = ModelBatch(sequences: [f.sequences[i]], labels: [f.labels[i]])
                let sum = model.lossSum(batch, tape: Tape(recording: false)).value[0]
                let mean = Double(sum) / Double(batch.targetCount)
                let expected = Double(try f.expected.float32Array("loss.\(i)")[0])
                XCTAssertLessThanOrEqual(relativeError(mean, expected), 1e-6, "\(name) loss.\(i): \(mean) vs \(expected)")
            }
            // Token-weighted mean over both sequences, as one batch of two segments.
            let batch = ModelBatch(sequences: f.sequences, labels: f.labels)
            let mean = Double(model.lossSum(batch, tape: Tape(recording: false)).value[0]) / Double(batch.targetCount)
            let expected = Double(try f.expected.float32Array("loss.batch")[0])
            XCTAssertLessThanOrEqual(relativeError(mean, expected), 1e-6, "\(name) loss.batch: \(mean) vs \(expected)")
        }
    }

    func testBatchOfTwoEqualsEachAlone() throws {
        let f = try GoldenFixture("tiny-llama3")
        let model = try f.model()
        let both = model.forward(ModelBatch(sequences: f.sequences, labels: nil), tape: Tape(recording: false)).value
        let first = model.forward(ModelBatch(sequences: [f.sequences[0]], labels: nil), tape: Tape(recording: false)).value
        let second = model.forward(ModelBatch(sequences: [f.sequences[1]], labels: nil), tape: Tape(recording: false)).value
        let d = model.config.hiddenSize
        assertClose(Array(both.array[0..<first.count]), first.array, tol: 1e-6, "first sequence in a batch")
        assertClose(Array(both.array[first.count..<(first.count + second.count)]), second.array, tol: 1e-6, "second sequence in a batch")
        XCTAssertEqual(both.count, (f.sequences[0].count + f.sequences[1].count) * d)
    }

    func testBF16WeightsMatchTransformersBF16Logits() throws {
        for name in fixtureNames {
            let f = try GoldenFixture(name)
            let model = try f.model(subdir: "model-bf16")
            if case .bfloat16 = model.weights.layers[0][.q].storage {} else { XCTFail("\(name): bf16 weights should stay bf16 (mapped)") }
            for (i, seq) in f.sequences.enumerated() {
                let hidden = model.forward(ModelBatch(sequences: [seq], labels: nil), tape: Tape(recording: false))
                assertClose(model.logits(hidden: hidden.value).array, try f.expected.float32Array("logits_bf16.\(i)"), "\(name) logits_bf16.\(i)")
            }
        }
    }

    func testFloat32CacheGivesIdenticalLogits() throws {
        let f = try GoldenFixture("tiny-llama32")
        let mapped = try LlamaModel.load(directory: f.path("model-bf16"))
        let cached = try LlamaModel.load(directory: f.path("model-bf16"), cacheFloat32: true)
        let batch = ModelBatch(sequences: [f.sequences[0]], labels: nil)
        XCTAssertEqual(mapped.forward(batch, tape: Tape(recording: false)).value.array,
                       cached.forward(batch, tape: Tape(recording: false)).value.array)
    }
}
