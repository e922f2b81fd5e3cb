import Autodiff
import Foundation
@testable import Llama
import XCTest

final class GenerationTests: XCTestCase {
    /// Prefill plus one-token steps through the KV cache give the full forward pass's logits.
    func testCachedDecodingEqualsFullForward() throws {
        for name in fixtureNames {
            let f = try GoldenFixture(name)
            let model = try f.model()
            model.adapters = try PEFTAdapter.load(directory: f.path("adapter"), model: model.config).0
            let seq = f.sequences[0], v = model.config.vocabSize
            let full = model.logits(hidden: model.forward(ModelBatch(sequences: [seq], labels: nil), tape: Tape(recording: false)).value).array
            let cache = KVCache(config: model.config, capacity: seq.count)
            let prefill = 9
            var got = model.extend(Array(seq[0..<prefill]), cache: cache)
            assertClose(got, Array(full[((prefill - 1) * v)..<(prefill * v)]), "\(name) prefill")
            for t in prefill..<seq.count {
                got = model.extend([seq[t]], cache: cache)
                assertClose(got, Array(full[(t * v)..<((t + 1) * v)]), "\(name) position \(t)")
            }
            XCTAssertEqual(cache.length, seq.count)
        }
    }

    func testGreedyGenerationIsDeterministicAndStops() throws {
        let f = try GoldenFixture("tiny-llama32")
        let model = try f.model()
        let prompt = Array(f.sequences[1].prefix(6))
        var greedy = Sampler(temperature: 0)
        let a = try model.generate(prompt: prompt, maxNewTokens: 8, stop: [], sampler: &greedy)
        XCTAssertEqual(a.count, 8)
        XCTAssertEqual(greedy.draws, 8)
        XCTAssertEqual(try model.generate(prompt: prompt, maxNewTokens: 8, stop: [], sampler: &greedy), a)
        // Stopping on the first generated id ends at once.
        var once = Sampler(temperature: 0)
        XCTAssertEqual(try model.generate(prompt: prompt, maxNewTokens: 8, stop: [a[0]], sampler: &once), [a[0]])
        // Sampling is reproducible for a seed.
        let s = Sampler(temperature: 1, topP: 0.9, seed: 5)
        var s1 = s, s2 = s
        let first = try model.generate(prompt: prompt, maxNewTokens: 8, stop: [], sampler: &s1)
        XCTAssertEqual(first, try model.generate(prompt: prompt, maxNewTokens: 8, stop: [], sampler: &s2))
        // The stream moved on by one draw per token: a second chat turn does not replay the first one's draws.
        XCTAssertEqual(s1.draws, 8)
        var stream = Sampler(temperature: 1, topP: 1, seed: 5)
        let flat = [Float](repeating: 0, count: 1000)
        XCTAssertNotEqual(stream.next(flat), stream.next(flat))
    }

    /// A prompt the model cannot embed is refused before any work (it used to index past the
    /// embedding table), naming the position, the id and the vocabulary.
    func testPromptsOutsideTheVocabularyAreRefused() throws {
        let f = try GoldenFixture("tiny-llama32")
        let model = try f.model()
        let v = model.config.vocabSize
        var sampler = Sampler(temperature: 0)
        for (prompt, phrase) in [([1, 5, v], "prompt token 2 is id \(v), outside the model's vocabulary 0..<\(v)"),
                                 ([-1, 5], "prompt token 0 is id -1, outside the model's vocabulary 0..<\(v)"),
                                 ([], "the prompt is empty")] {
            XCTAssertThrowsError(try model.generate(prompt: prompt, maxNewTokens: 4, stop: [], sampler: &sampler), "\(prompt)") { error in
                XCTAssertTrue(error.localizedDescription.contains(phrase), error.localizedDescription)
            }
        }
        XCTAssertThrowsError(try model.generate(prompt: [1, 5], maxNewTokens: -1, stop: [], sampler: &sampler))
        XCTAssertEqual(sampler.draws, 0, "nothing was generated")
        // The last id of the vocabulary is a valid prompt.
        XCTAssertEqual(try model.generate(prompt: [1, v - 1], maxNewTokens: 2, stop: [], sampler: &sampler).count, 2)
    }

    /// The nucleus taken from the heap is the one a full sort gives: same tokens, same order, ties by
    /// lower id, so sampling picks the same token as sorting would.
    func testTopPSelectionMatchesFullSort() {
        var rng = 12345 as UInt64
        for trial in 0..<200 {
            let v = 1 + trial % 97
            let logits: [Float] = (0..<v).map { i in
                rng = rng &* 6364136223846793005 &+ 1442695040888963407
                // Coarse values so that ties occur.
                return Float(Int(rng >> 59)) * 0.5 + (i % 7 == 0 ? 3 : 0)
            }
            let sampler = Sampler(temperature: 0.8, topP: [0.1, 0.5, 0.9, 1.0][trial % 4], seed: UInt64(trial))
            XCTAssertEqual(sampler.pick(logits, draw: trial), sortedReferencePick(sampler, logits, draw: trial), "trial \(trial)")
        }
    }

    /// Top-p by a full stable sort, written plainly (the definition the heap must match).
    private func sortedReferencePick(_ s: Sampler, _ logits: [Float], draw: Int) -> Int {
        let m = logits.max()!
        var probs = logits.map { Foundation.exp(Double($0 - m) / s.temperature) }
        let z = probs.reduce(0, +)
        probs = probs.map { $0 / z }
        let order = probs.indices.sorted { probs[$0] > probs[$1] || (probs[$0] == probs[$1] && $0 < $1) }
        var kept: [Int] = [], mass = 0.0
        for i in order {
            kept.append(i)
            mass += probs[i]
            if mass >= s.topP { break }
        }
        var u = Double(DropoutMask.uniform(seed: s.seed, index: draw)) * mass
        for i in kept {
            u -= probs[i]
            if u <= 0 { return i }
        }
        return kept.last!
    }
}
