import Autodiff
import Foundation
import GGUF
import Llama
import SafeTensors
import Tensors
import TestSupport
import XCTest

/// SmolLM2-135M-Instruct Q4_1 (shared/assets) against transformers running the same weights dequantized
/// into a Hugging Face directory (Fixtures/README.md says how the expected values were made).
final class GGUFParityTests: XCTestCase {
    static let expectedPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/smollm2_q4_1_expected.safetensors").path

    static func ggufPath() throws -> String {
        try SharedFixtures.path("assets/smollm2-135m-instruct-q4_1/SmolLM2-135M-Instruct.Q4_1.gguf").path
    }

    func testConfigFromMetadata() throws {
        let c = try LlamaConfig.load(path: Self.ggufPath())
        XCTAssertEqual(c, LlamaConfig(vocabSize: 49152, hiddenSize: 576, intermediateSize: 1536, numLayers: 30, numHeads: 9,
                                      numKVHeads: 3, headDim: 64, rmsNormEps: 9.999999747378752e-06, ropeTheta: 100000,
                                      tieWordEmbeddings: true, bosTokenID: 1, eosTokenIDs: [2], maxPositionEmbeddings: 8192))
    }

    func testLogitsAndLossMatchTransformers() throws {
        let model = try LlamaModel.load(directory: Self.ggufPath())
        XCTAssertTrue(model.weights.lmHead === model.weights.embedding, "no output.weight: the LM head is the embedding")
        let expected = try SafeTensorsFile(path: Self.expectedPath)
        let columns = try expected.float32Array("columns").map { Int($0) }
        for i in 0..<2 {
            let ids = try expected.float32Array("ids.\(i)").map { Int($0) }
            let batch = ModelBatch(sequences: [ids], labels: [ids])
            let tape = Tape(recording: false)
            let hidden = model.forward(batch, tape: tape)
            let logits = model.logits(hidden: hidden.value)
            let v = model.config.vocabSize
            let wantLSE = try expected.float32Array("lse.\(i)"), wantLogits = try expected.float32Array("logits.\(i)")
            var worst = 0.0
            for t in ids.indices {
                let row = Array(logits.array[(t * v)..<((t + 1) * v)])
                let m = row.max()!
                let lse = Double(m) + log(row.reduce(0.0) { $0 + exp(Double($1 - m)) })
                worst = max(worst, abs(lse - Double(wantLSE[t])) / max(1, abs(Double(wantLSE[t]))))
                for (k, c) in columns.enumerated() {
                    let want = Double(wantLogits[t * columns.count + k])
                    worst = max(worst, abs(Double(row[c]) - want) / max(1, abs(want)))
                }
            }
            XCTAssertLessThanOrEqual(worst, 1e-4, "sequence \(i): logits / log-sum-exp relative error \(worst)")
            let sum = tape.lmHeadCrossEntropy(hidden, weight: model.weights.lmHead, positions: batch.lossPositions, targets: batch.lossTargets)
            let loss = Double(sum.value[0]) / Double(batch.targetCount)
            let want = Double(try expected.float32Array("loss.\(i)")[0])
            XCTAssertLessThanOrEqual(abs(loss - want) / want, 1e-4, "sequence \(i): loss \(loss) vs transformers \(want)")
        }
    }

    /// Without undoing llama.cpp's q/k row permutation the model is visibly wrong: re-applying the
    /// converter's permutation to the loaded q and k must change the loss by far more than the tolerance.
    func testSkippingThePermutationIsVisiblyWrong() throws {
        let model = try LlamaModel.load(directory: Self.ggufPath())
        let expected = try SafeTensorsFile(path: Self.expectedPath)
        let ids = try expected.float32Array("ids.0").map { Int($0) }
        let c = model.config
        let layers = model.weights.layers.map { layer -> LayerWeights in
            var p = layer.projections
            for (proj, heads) in [(Projection.q, c.numHeads), (.k, c.numKVHeads)] {
                let w = layer[proj].toTensor(), permuted = Tensor(uninitialized: w.shape)
                GGUFRoPEPermutation.apply(GGUFRoPEPermutation.toGGUF(rows: w.shape[0], heads: heads), rowBytes: w.shape[1] * 4,
                                          from: w.data, to: permuted.data)
                p[proj] = FrozenWeight(permuted)
            }
            return LayerWeights(inputNorm: layer.inputNorm, postAttentionNorm: layer.postAttentionNorm, projections: p)
        }
        let raw = LlamaModel(weights: LlamaWeights(config: c, embedding: model.weights.embedding, layers: layers,
                                                   finalNorm: model.weights.finalNorm, lmHead: model.weights.lmHead))
        let batch = ModelBatch(sequences: [ids], labels: [ids])
        let loss = Double(raw.lossSum(batch, tape: Tape(recording: false)).value[0]) / Double(batch.targetCount)
        let want = Double(try expected.float32Array("loss.0")[0])
        XCTAssertGreaterThan(abs(loss - want) / want, 0.05, "loss without the inverse permutation: \(loss) vs \(want)")
    }
}
