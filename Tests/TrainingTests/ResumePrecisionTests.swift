import Foundation
import Tensors
import Training
import XCTest

/// A checkpoint records the precision its run computed with (`train.precision` resolved on its CPU);
/// a resume that would resolve to another (`auto` on a CPU with or without AVX512_BF16) is refused,
/// naming both, and `auto` resumed where it resolves the same continues.
final class ResumePrecisionTests: XCTestCase {
    override func tearDown() {
        StopSignals.reset()
        super.tearDown()
    }

    let here = Precision.auto.resolved()
    var other: Precision { here == .bf16 ? .fp32 : .bf16 }

    /// A run with `train.precision: auto` stopped after step 3 of 6.
    func stoppedAutoRun() throws -> (dir: String, object: [String: Any], checkpoint: String) {
        let dir = scratchDirectory(self, "precision")
        let data = try syntheticDataset(in: dir, count: 12)
        var object = try tinyRecipe(data: data, output: dir + "/out")
        setKey(&object, "train.precision", "auto")
        _ = try Trainer(recipe: try writeRecipe(object, to: dir + "/r.json"), options: recordingOptions(TestLog(), stopAfter: 3)).run()
        StopSignals.reset()
        return (dir, object, dir + "/out/checkpoints/step-000003")
    }

    func stateObject(_ checkpoint: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: checkpoint + "/trainer_state.json"))) as! [String: Any]
    }

    func testAutoResumedWhereItResolvesTheSameContinues() throws {
        let (dir, object, checkpoint) = try stoppedAutoRun()
        XCTAssertEqual(try stateObject(checkpoint)["precision"] as? String, here.rawValue)
        let resumed = try Trainer(recipe: try writeRecipe(object, to: dir + "/r.json"), options: quietOptions())
        XCTAssertEqual(resumed.state.step, 3)
        XCTAssertEqual(try resumed.run().steps, 6)
        XCTAssertEqual(try stateObject(dir + "/out/checkpoints/step-000006")["precision"] as? String, here.rawValue)
    }

    /// Stands in for the other CPU: the checkpoint says the run resolved `auto` to the other precision.
    func testAutoThatWouldResolveDifferentlyIsRefusedNamingBoth() throws {
        let (dir, object, checkpoint) = try stoppedAutoRun()
        var state = try stateObject(checkpoint)
        state["precision"] = other.rawValue
        try JSONSerialization.data(withJSONObject: state, options: [.sortedKeys]).write(to: URL(fileURLWithPath: checkpoint + "/trainer_state.json"))
        XCTAssertThrowsError(try Trainer(recipe: try writeRecipe(object, to: dir + "/r.json"), options: quietOptions())) { error in
            let text = error.localizedDescription
            XCTAssertTrue(text.contains("cannot resume from \(checkpoint): it was trained with precision \(self.other.rawValue)"), text)
            XCTAssertTrue(text.contains("train.precision auto resolves to \(self.here.rawValue) on this CPU"), text)
            XCTAssertTrue(text.contains("--restart"), text)
        }
    }

    /// A checkpoint written before the precision was recorded resumes as before.
    func testCheckpointWithoutARecordedPrecisionResumes() throws {
        let (dir, object, checkpoint) = try stoppedAutoRun()
        var state = try stateObject(checkpoint)
        state["precision"] = nil
        try JSONSerialization.data(withJSONObject: state, options: [.sortedKeys]).write(to: URL(fileURLWithPath: checkpoint + "/trainer_state.json"))
        XCTAssertEqual(try Trainer(recipe: try writeRecipe(object, to: dir + "/r.json"), options: quietOptions()).state.step, 3)
    }
}
