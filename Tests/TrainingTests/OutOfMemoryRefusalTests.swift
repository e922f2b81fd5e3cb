import Foundation
import Training
import XCTest

/// Settings whose step cannot fit are refused when the run is set up, before the weights, the adapters
/// or any activation is allocated, with the estimate, the available memory and what to change.
///
/// The golden tiny model (2 layers, hidden 64, vocab 512) is far too small for these settings to exceed
/// a real machine, so the tests cap the memory a run may plan with at 1 GiB (`TrainOptions.memoryLimit`,
/// the same check against a smaller figure). The model folder holds only its `config.json`: a run that
/// got past the check would fail on the missing weights instead, so a refusal proves nothing large was
/// allocated first, and the control (the same recipe with an ordinary value of the setting) proves the
/// refusal comes from that setting alone.
final class OutOfMemoryRefusalTests: XCTestCase {
    let limit = 1 << 30

    /// A model folder with the golden tiny model's config.json and no weights.
    func configOnlyModel(_ dir: String) throws -> String {
        let model = dir + "/config-only-model"
        try FileManager.default.createDirectory(atPath: model, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: try goldenDir("tiny-llama32") + "/config.json", toPath: model + "/config.json")
        return model
    }

    /// The error `Trainer.init` throws for `object` under the 1 GiB cap.
    func setUpError(_ object: [String: Any], _ dir: String, _ name: String) throws -> String {
        var options = quietOptions()
        options.memoryLimit = limit
        let recipe = try writeRecipe(object, to: dir + "/\(name).json")
        do {
            _ = try Trainer(recipe: recipe, options: options)
        } catch {
            return error.localizedDescription
        }
        XCTFail("\(name): a model folder without weights was accepted")
        return ""
    }

    /// Checks that `setting` is refused with the figures and that the same recipe without it gets past
    /// the check (to the missing weights).
    func assertRefused(_ setting: (inout [String: Any]) -> Void, control: (inout [String: Any]) -> Void, data: String,
                       expect parts: [String], change: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let dir = scratchDirectory(self, "oom")
        var object = try tinyRecipe(data: data, output: dir + "/out")
        setKey(&object, "model", try configOnlyModel(dir))
        var refused = object, ordinary = object
        setting(&refused)
        control(&ordinary)

        let message = try setUpError(refused, dir, "refused")
        XCTAssertTrue(message.contains("needs about"), message, file: file, line: line)
        XCTAssertTrue(message.contains("this machine has 1024 MiB available"), message, file: file, line: line)
        XCTAssertTrue(message.contains(change), "what to change: \(message)", file: file, line: line)
        for part in parts { XCTAssertTrue(message.contains(part), "expected “\(part)” in: \(message)", file: file, line: line) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/out/checkpoints"), file: file, line: line)

        let passed = try setUpError(ordinary, dir, "ordinary")
        XCTAssertFalse(passed.contains("needs about"), "the ordinary setting must fit in 1 GiB: \(passed)", file: file, line: line)
        XCTAssertTrue(passed.contains("model.safetensors") || passed.contains("safetensors"), "expected the missing weights: \(passed)", file: file, line: line)
    }

    /// rank 100000: the adapters alone are 2 layers × 100000 × Σ(in + out) over the seven projections
    /// (q 64+64, k 64+32, v 64+32, o 64+64, gate 64+160, up 64+160, down 160+64 = 1120) × 4 copies
    /// (value, gradient, two AdamW moments) × 4 bytes = 3,584,000,000 bytes = 3417 MiB.
    func testRankOneHundredThousandIsRefused() throws {
        let dir = scratchDirectory(self, "oom-data")
        try assertRefused({ setKey(&$0, "lora.rank", 100_000) }, control: { setKey(&$0, "lora.rank", 8) },
                          data: try syntheticDataset(in: dir, count: 8), expect: ["adapters and AdamW 3417 MiB"], change: "lora.rank")
    }

    /// One 30,000-token example: attention keeps two [30000, 30000] fp32 score buffers per thread
    /// (one thread here): 2 × 30000² × 4 bytes = 7,200,000,000 bytes = 6866 MiB. The saved activations
    /// alone (about 340 MiB) would fit under the cap, so this checks that the scratch is counted. The
    /// control is a 1000-token example with the same recipe.
    func testOneThirtyThousandTokenExampleIsRefused() throws {
        let dir = scratchDirectory(self, "oom-data")
        let long = try syntheticDataset(in: dir, count: 1, lengths: 30_000...30_000)
        let ordinary = try syntheticDataset(in: dir, name: "ordinary.jsonl", count: 1, lengths: 1000...1000)
        func recipe(_ o: inout [String: Any]) { setKey(&o, "data.max_seq_len", 32_768); setKey(&o, "train.batch_size", 1) }
        try assertRefused({ recipe(&$0) }, control: { recipe(&$0); setKey(&$0, "data.train", ordinary) },
                          data: long, expect: ["attention scratch 6866 MiB"], change: "data.max_seq_len")
    }

    /// Packing into rows of 100000 tokens, batch 2: every row is planned at full length, 2 × 100000
    /// tokens × (2 layers × 956 saved floats + 2 × 512 for the logits and their gradient) × 4 bytes
    /// = 2,348,800,000 bytes, printed as 2239 MiB of activations. 956 = 4·64 + 2·64 + 2·32 + 3·160 + 4·7 (rank 4
    /// on seven projections).
    func testPackingIntoOneHundredThousandTokenRowsIsRefused() throws {
        let dir = scratchDirectory(self, "oom-data")
        try assertRefused({ setKey(&$0, "data.packing", true); setKey(&$0, "data.max_seq_len", 100_000) },
                          control: { setKey(&$0, "data.packing", true); setKey(&$0, "data.max_seq_len", 256) },
                          data: try syntheticDataset(in: dir, count: 8), expect: ["activations 2239 MiB"], change: "data.max_seq_len")
    }

    /// Absurd sizes saturate the estimate instead of overflowing it (a trap while checking memory).
    func testAbsurdBatchIsRefusedNotOverflowed() throws {
        let dir = scratchDirectory(self, "oom-data")
        try assertRefused({ setKey(&$0, "data.packing", true); setKey(&$0, "data.max_seq_len", 1 << 40); setKey(&$0, "train.batch_size", 1 << 40) },
                          control: { setKey(&$0, "data.packing", true) },
                          data: try syntheticDataset(in: dir, count: 8), expect: [], change: "train.batch_size")
    }
}
