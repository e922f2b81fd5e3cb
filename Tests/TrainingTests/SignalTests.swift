import Foundation
import Training
import XCTest

/// SIGINT / SIGTERM in-process (the real process and its exit codes: KillResumeTests): the handler
/// records the signal; the loop finishes the step, checkpoints it once, reports the signal, and a
/// resume completes the run exactly.
final class SignalTests: XCTestCase {
    override func tearDown() {
        StopSignals.uninstall()
        StopSignals.reset()
        super.tearDown()
    }

    func testInstalledHandlersRecordTheFirstSignal() {
        StopSignals.install()
        XCTAssertEqual(StopSignals.requested, 0)
        raise(SIGTERM)
        XCTAssertEqual(StopSignals.requested, SIGTERM)
        raise(SIGTERM)  // a second SIGTERM changes nothing (a second SIGINT would exit the process)
        XCTAssertEqual(StopSignals.requested, SIGTERM)
        StopSignals.install()
        raise(SIGINT)
        XCTAssertEqual(StopSignals.requested, SIGINT)
    }

    func recipe(_ dir: String, _ name: String, every: Int = 3) throws -> Recipe {
        var object = try tinyRecipe(data: try syntheticDataset(in: dir, count: 16), output: dir + "/" + name)  // 7 + 1 eval
        setKey(&object, "data.eval_fraction", 0.1)
        setKey(&object, "checkpoint.every_steps", every)
        return try writeRecipe(object, to: dir + "/\(name).json")
    }

    /// A signal during the last step: the run stops without the final evaluation and adapter; the
    /// resume does only those, and ends exactly like the straight run.
    func testSignalDuringTheLastStep() throws {
        let dir = scratchDirectory(self, "sig-last")
        let straight = try Trainer(recipe: try recipe(dir, "straight"), options: quietOptions())
        let total = try straight.run().steps
        XCTAssertEqual(total, 7)

        let r = try recipe(dir, "stopped")
        let log = TestLog()
        let summary = try Trainer(recipe: r, options: recordingOptions(log, stopAfter: total, signal: SIGTERM)).run()
        XCTAssertEqual(summary.stoppedBySignal, SIGTERM)
        XCTAssertNil(summary.adapterDir)
        XCTAssertTrue(log.text.contains("stopped by SIGTERM after step 7 of 7; checkpoint written."), log.text)
        XCTAssertEqual(Checkpoints.latest(r.outputDir), r.outputDir + "/checkpoints/step-000007")
        XCTAssertEqual(try metricsLines(r.outputDir).filter { $0.evalLoss != nil }, [], "no final evaluation yet")
        StopSignals.reset()

        let resumed = try Trainer(recipe: r, options: quietOptions())
        XCTAssertEqual(resumed.state.step, 7)
        let done = try resumed.run()
        XCTAssertNil(done.stoppedBySignal)
        XCTAssertNotNil(done.adapterDir)
        try assertSameRun(straight, resumed, "signal in the last step")
    }

    /// A signal right after a step that was checkpointed anyway: one checkpoint, and the message says so.
    func testSignalOnACheckpointStepWritesItOnce() throws {
        let dir = scratchDirectory(self, "sig-ckpt")
        let r = try recipe(dir, "out")
        var writes: [String] = []
        Checkpoints.beforeWrite = { if $0 == "latest" { writes.append($0) } }
        defer { Checkpoints.beforeWrite = nil }
        let log = TestLog()
        let summary = try Trainer(recipe: r, options: recordingOptions(log, stopAfter: 3)).run()
        XCTAssertEqual(summary.stoppedBySignal, SIGINT)
        XCTAssertEqual(writes.count, 1)
        XCTAssertTrue(log.text.contains("stopped by SIGINT after step 3 of 7; its checkpoint was already written."), log.text)
    }

    /// A signal before the first step (e.g. while the model loads): no step, nothing written, and the
    /// next start begins at step 0.
    func testSignalBeforeTheFirstStep() throws {
        let dir = scratchDirectory(self, "sig-early")
        let r = try recipe(dir, "out")
        let log = TestLog()
        let trainer = try Trainer(recipe: r, options: recordingOptions(log))
        StopSignals.simulate(SIGINT)
        let summary = try trainer.run()
        XCTAssertEqual(summary.steps, 0)
        XCTAssertEqual(summary.stoppedBySignal, SIGINT)
        XCTAssertTrue(log.text.contains("stopped by SIGINT after step 0 of 7; nothing to save."), log.text)
        XCTAssertFalse(log.text.contains("resume with"), log.text)
        XCTAssertEqual(Checkpoints.complete(r.outputDir), [])
        StopSignals.reset()
        XCTAssertEqual(try Trainer(recipe: r, options: quietOptions()).state.step, 0)
    }
}
