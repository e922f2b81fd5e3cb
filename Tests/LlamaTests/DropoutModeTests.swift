import Autodiff
import Llama
import XCTest

/// LoRA dropout acts only in training (a dropout seed given); evaluation, `logits` and export see
/// the adapter without dropout, as PEFT in eval mode.
final class DropoutModeTests: XCTestCase {
    func testDropoutOnlyWhenTraining() throws {
        let f = try GoldenFixture("tiny-llama3")
        let model = try f.model()
        let (adapters, _) = try PEFTAdapter.load(directory: f.path("adapter"), model: model.config)
        let batch = ModelBatch(sequences: [f.sequences[0]], labels: nil)
        model.adapters = adapters
        let plain = model.forward(batch, tape: Tape(recording: false)).value.array
        var withDropout = adapters.config
        withDropout.dropout = 0.5
        model.adapters = LoRAAdapters(config: withDropout, pairs: adapters.pairs)
        XCTAssertEqual(model.forward(batch, tape: Tape(recording: false)).value.array, plain, "inference ignores dropout")
        let trained = model.forward(batch, tape: Tape(recording: false), dropoutSeed: 7).value.array
        XCTAssertNotEqual(trained, plain, "training applies dropout")
        XCTAssertEqual(model.forward(batch, tape: Tape(recording: false), dropoutSeed: 7).value.array, trained, "masks are seeded")
    }
}
