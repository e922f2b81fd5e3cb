import Foundation
import Training
import XCTest

/// Exact resume (docs/architecture.md, "Exact resume", docs/formats.md, Checkpoints): N steps straight and k steps + stop +
/// resume + (N − k) steps give the same adapter and AdamW bits and the same metrics, in each of the
/// situations where a cursor or an RNG could slip.
final class ResumeTests: XCTestCase {
    override func tearDown() {
        StopSignals.reset()
        super.tearDown()
    }

    /// Runs `recipe` straight into `<dir>/straight`, then stopped after `stopAfter` steps (a simulated
    /// `signal`) and resumed by a new Trainer into `<dir>/resumed`; compares the two.
    @discardableResult
    func assertExactResume(_ what: String, stopAfter: Int, signal: Int32 = SIGINT, dataCount: Int = 14,
                           expectedSteps: Int? = nil, _ tweak: (inout [String: Any]) -> Void = { _ in },
                           file: StaticString = #filePath, line: UInt = #line) throws -> Trainer {
        let dir = scratchDirectory(self, "resume")
        let data = try syntheticDataset(in: dir, count: dataCount)
        func recipe(_ name: String) throws -> Recipe {
            var object = try tinyRecipe(data: data, output: dir + "/" + name)
            tweak(&object)
            return try writeRecipe(object, to: dir + "/\(name).json")
        }

        let straight = try Trainer(recipe: try recipe("straight"), options: quietOptions())
        let whole = try straight.run()
        XCTAssertNil(whole.stoppedBySignal, file: file, line: line)
        if let expectedSteps { XCTAssertEqual(whole.steps, expectedSteps, "\(what): total steps", file: file, line: line) }
        XCTAssertLessThan(stopAfter, whole.steps, "\(what): the stop must fall inside the run", file: file, line: line)

        let resumedRecipe = try recipe("resumed")
        let log1 = TestLog()
        let first = try Trainer(recipe: resumedRecipe, options: recordingOptions(log1, stopAfter: stopAfter, signal: signal))
        let part = try first.run()
        XCTAssertEqual(part.stoppedBySignal, signal, "\(what): stopped by the signal", file: file, line: line)
        XCTAssertEqual(part.steps, stopAfter, file: file, line: line)
        XCTAssertNil(part.adapterDir, "\(what): a stopped run writes no final adapter", file: file, line: line)
        XCTAssertEqual(Checkpoints.latest(resumedRecipe.outputDir), resumedRecipe.outputDir + "/checkpoints/" + Checkpoints.name(step: stopAfter),
                       file: file, line: line)
        XCTAssertTrue(log1.text.contains("resume with"), log1.text, file: file, line: line)
        StopSignals.reset()

        let log2 = TestLog()
        let second = try Trainer(recipe: resumedRecipe, options: recordingOptions(log2))
        XCTAssertEqual(second.state.step, stopAfter, "\(what): the second Trainer resumed (did not start over)", file: file, line: line)
        XCTAssertTrue(log2.text.contains("resuming from"), log2.text, file: file, line: line)
        let rest = try second.run()
        XCTAssertNil(rest.stoppedBySignal, file: file, line: line)
        try assertSameRun(straight, second, what, file: file, line: line)
        return second
    }

    func testMidEpochWithEvaluation() throws {
        // 14 records − 2 for eval = 12 → 6 micro-batches of 2; stop in the middle of the only epoch.
        try assertExactResume("mid-epoch", stopAfter: 3, expectedSteps: 6) { r in
            setKey(&r, "data.eval_fraction", 0.15)
            setKey(&r, "eval.every_steps", 2)
        }
    }

    func testAcrossEpochBoundary() throws {
        // 7 steps per epoch, 2 epochs: the resumed half crosses into epoch 1 (a new shuffle).
        try assertExactResume("across epochs", stopAfter: 5, expectedSteps: 14) { setKey(&$0, "train.epochs", 2) }
    }

    func testStopExactlyAtEpochEnd() throws {
        try assertExactResume("at epoch end", stopAfter: 7, signal: SIGTERM, expectedSteps: 14) { setKey(&$0, "train.epochs", 2) }
    }

    func testGradientAccumulation() throws {
        // 14 micro-batches of 1, grad_accum 3 → steps of 3,3,3,3,2 micro-batches per epoch (a step never
        // spans two epochs); stop mid-epoch, finish in the next one.
        let t = try assertExactResume("grad_accum 3", stopAfter: 4, expectedSteps: 10) { r in
            setKey(&r, "train.batch_size", 1)
            setKey(&r, "train.grad_accum", 3)
            setKey(&r, "train.epochs", 2)
        }
        XCTAssertEqual(t.state.epoch, 2)
    }

    func testLoRADropout() throws {
        let withDropout = try assertExactResume("dropout 0.2", stopAfter: 3) { setKey(&$0, "lora.dropout", 0.2) }
        // The dropout masks really act (else this case would equal the no-dropout run and prove nothing).
        let dir = scratchDirectory(self, "nodropout")
        var object = try tinyRecipe(data: withDropout.recipe.data.train, output: dir + "/out")
        setKey(&object, "lora.dropout", 0.0)
        let plain = try Trainer(recipe: try writeRecipe(object, to: dir + "/r.json"), options: quietOptions())
        _ = try plain.run()
        XCTAssertNotEqual(try metricsLines(plain.recipe.outputDir).compactMap(\.loss), try metricsLines(withDropout.recipe.outputDir).compactMap(\.loss))
    }

    func testPacking() throws {
        // Lengths 8…40 packed into rows of ≤ 64 tokens: several documents per row; 2 epochs of batch 1.
        let t = try assertExactResume("packing", stopAfter: 5, dataCount: 20) { r in
            setKey(&r, "data.packing", true)
            setKey(&r, "train.batch_size", 1)
            setKey(&r, "train.epochs", 2)
        }
        XCTAssertGreaterThan(t.state.step, 5)
        XCTAssertLessThan(t.state.step, 40, "rows hold more than one document")
    }

    /// A finished run resumed with a larger max_steps (constant lr, so the schedule is the same) continues
    /// exactly as one longer run; the finished run's checkpoint is the resume point.
    func testExtendingMaxStepsOfAFinishedRun() throws {
        let dir = scratchDirectory(self, "extend")
        let data = try syntheticDataset(in: dir, count: 14)
        func recipe(_ name: String, maxSteps: Int) throws -> Recipe {
            var object = try tinyRecipe(data: data, output: dir + "/" + name)
            setKey(&object, "schedule", ["type": "constant"])
            setKey(&object, "train.max_steps", maxSteps)
            return try writeRecipe(object, to: dir + "/\(name)-\(maxSteps).json")
        }
        let straight = try Trainer(recipe: try recipe("straight", maxSteps: 10), options: quietOptions())
        _ = try straight.run()
        let short = try Trainer(recipe: try recipe("extended", maxSteps: 4), options: quietOptions())
        XCTAssertNotNil(try short.run().adapterDir)
        let longer = try Trainer(recipe: try recipe("extended", maxSteps: 10), options: quietOptions())
        XCTAssertEqual(longer.state.step, 4)
        _ = try longer.run()
        // max_steps 10 > 7 steps of one epoch: the run goes on into epoch 1, like the straight one.
        XCTAssertEqual(longer.state.epoch, 1)
        try assertSameRun(straight, longer, "extended max_steps")
    }

    /// Resuming a run that already finished trains nothing, adds no metrics line and leaves the adapter's bytes.
    func testResumingAFinishedRunChangesNothing() throws {
        let dir = scratchDirectory(self, "finished")
        let data = try syntheticDataset(in: dir, count: 14)
        var object = try tinyRecipe(data: data, output: dir + "/out")
        setKey(&object, "data.eval_fraction", 0.15)
        let recipe = try writeRecipe(object, to: dir + "/r.json")
        let first = try Trainer(recipe: recipe, options: quietOptions())
        let done = try first.run()
        let adapter = try fileBytes(dir + "/out/adapter/adapter_model.safetensors")
        let metrics = try String(contentsOfFile: dir + "/out/metrics.jsonl", encoding: .utf8)
        let checkpoints = Checkpoints.complete(dir + "/out")

        let log = TestLog()
        let again = try Trainer(recipe: recipe, options: recordingOptions(log))
        XCTAssertEqual(again.state.step, done.steps)
        let summary = try again.run()
        XCTAssertEqual(summary.steps, done.steps)
        XCTAssertEqual(summary.evalLoss, done.evalLoss)
        XCTAssertEqual(try fileBytes(dir + "/out/adapter/adapter_model.safetensors"), adapter)
        XCTAssertEqual(try String(contentsOfFile: dir + "/out/metrics.jsonl", encoding: .utf8), metrics, "no line added or lost")
        XCTAssertEqual(Checkpoints.complete(dir + "/out"), checkpoints)
        XCTAssertTrue(log.text.contains("already finished"), log.text)
    }
}
