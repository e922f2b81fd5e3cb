import Autodiff
import Llama
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
        let a = model.generate(prompt: prompt, maxNewTokens: 8, stop: [], sampler: Sampler(temperature: 0))
        XCTAssertEqual(a.count, 8)
        XCTAssertEqual(model.generate(prompt: prompt, maxNewTokens: 8, stop: [], sampler: Sampler(temperature: 0)), a)
        // Stopping on the first generated id ends at once.
        XCTAssertEqual(model.generate(prompt: prompt, maxNewTokens: 8, stop: [a[0]], sampler: Sampler(temperature: 0)), [a[0]])
        // Sampling is reproducible for a seed.
        let s = Sampler(temperature: 1, topP: 0.9, seed: 5)
        XCTAssertEqual(model.generate(prompt: prompt, maxNewTokens: 8, stop: [], sampler: s), model.generate(prompt: prompt, maxNewTokens: 8, stop: [], sampler: s))
    }
}
