import Foundation
import Llama
import Training
import XCTest

/// A real `llama-sft train` process killed with SIGKILL at random moments (mid-step, mid-checkpoint,
/// mid-metrics line), or stopped with SIGINT / SIGTERM, then resumed: the end result equals the
/// uninterrupted run bit for bit, and after every kill the latest checkpoint is complete and loadable.
///
/// Uses the `llama-sft` executable that `swift test` builds beside the test bundle.
final class KillResumeTests: XCTestCase {
    var random = SystemRandomNumberGenerator()

    override func tearDown() {
        StopSignals.reset()
        super.tearDown()
    }

    func executable() throws -> String { try llamaSFTExecutable() }

    /// 30 records, batch 1, 2 epochs = 60 steps; checkpoints every 2 steps (keep 2), eval every 7.
    func setUpRun(_ dir: String) throws -> (recipePath: String, straight: Trainer) {
        let data = try syntheticDataset(in: dir, count: 33)
        func object(_ out: String) throws -> [String: Any] {
            var o = try tinyRecipe(data: data, output: out)
            setKey(&o, "train.batch_size", 1)
            setKey(&o, "train.epochs", 2)
            setKey(&o, "data.eval_fraction", 0.1)
            setKey(&o, "eval.every_steps", 7)
            setKey(&o, "checkpoint.every_steps", 2)
            return o
        }
        let straight = try Trainer(recipe: try writeRecipe(try object(dir + "/straight"), to: dir + "/straight.json"), options: quietOptions())
        XCTAssertNil(try straight.run().stoppedBySignal)
        XCTAssertEqual(straight.state.step, 60)
        let path = dir + "/killed.json"
        try writeRecipe(try object(dir + "/killed"), to: path)
        return (path, straight)
    }

    func start(_ recipe: String, log: String) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try executable())
        p.arguments = ["train", recipe]
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        return p
    }

    /// Step lines in metrics.jsonl (a torn last line counts as nothing).
    func stepLines(_ out: String) -> Int {
        guard let text = try? String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8) else { return 0 }
        return text.split(separator: "\n").filter { $0.contains("\"loss\"") && $0.hasSuffix("}") }.count
    }

    /// Waits until the process has logged `lines` step lines (or exited); false on exit.
    func wait(_ p: Process, out: String, lines: Int) -> Bool {
        let deadline = Date().addingTimeInterval(120)
        while p.isRunning && Date() < deadline {
            if stepLines(out) >= lines { return true }
            usleep(500)
        }
        return false
    }

    /// The invariant a kill must never break: the newest checkpoint is complete and loads.
    func assertLatestLoads(_ out: String, _ context: String) throws {
        guard let latest = Checkpoints.latest(out) else { return XCTFail("\(context): no checkpoint") }
        let config = try LlamaConfig.load(path: try goldenDir("tiny-llama32"))
        let adapters = try PEFTAdapter.load(directory: latest, model: config).0
        let loaded = try Checkpoints.load(latest, parameterNames: adapters.namedParameters.map(\.name))
        XCTAssertEqual(loaded.m.count, adapters.namedParameters.count, context)
        XCTAssertTrue(latest.hasSuffix(Checkpoints.name(step: loaded.state.step)), context)
        // After the start-up clean-up, `latest` (the file) names a complete checkpoint and no temporary is left.
        Checkpoints.cleanTemporaries(out)
        let root = Checkpoints.directory(out)
        let named = try String(contentsOfFile: root + "/latest", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertNotNil(Checkpoints.complete(out).first { $0.hasSuffix("/" + named) }, "\(context): latest names \(named)")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: root).filter { $0.hasPrefix(".") || $0.contains(".old-") }
        XCTAssertEqual(leftovers, [], context)
    }

    func testSIGKILLAtRandomMomentsThenResume() throws {
        let dir = scratchDirectory(self, "kill")
        let (recipePath, straight) = try setUpRun(dir)
        let out = dir + "/killed"
        var history: [String] = []
        var hadCheckpoint = false
        // LLAMA_SFT_KILL_ROUNDS=50 swift test --filter KillResumeTests: a longer hunt for a bad instant.
        let rounds = ProcessInfo.processInfo.environment["LLAMA_SFT_KILL_ROUNDS"].flatMap { Int($0) } ?? 3
        for round in 0..<rounds {
            let log = dir + "/kill-\(round).log"
            // Spread the kills over the run: about 50 steps for all rounds, at least one step each.
            let done = stepLines(out)
            let target = done + Int.random(in: 1...max(1, min(14, 2 * (52 - done) / max(1, rounds - round))), using: &random)
            // Mostly a few steps in (mid-step, mid-checkpoint, mid-metrics line); sometimes a time after the
            // start (start-up clean-up, metrics truncation, the first steps), and always so near the end.
            let byTime = target > 56 || done < 4 && Int.random(in: 0..<4, using: &random) == 0
            let p = try start(recipePath, log: log)
            let when: String
            if byTime {
                let us = UInt32.random(in: 0...60_000, using: &random)
                usleep(us)
                when = "\(us) µs after start"
            } else {
                XCTAssertTrue(wait(p, out: out, lines: target), "round \(round): ended before step \(target): \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
                let us = UInt32.random(in: 0...6000, using: &random)
                usleep(us)
                when = "after \(target) step lines + \(us) µs"
            }
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            history.append(when)
            let context = "round \(round): killed \(when) (history \(history))"
            if p.terminationReason == .exit {
                // Only a time-based kill may come too late for a process already at its end.
                XCTAssertTrue(byTime && p.terminationStatus == 0, "\(context): \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
                break
            }
            XCTAssertEqual(p.terminationStatus, SIGKILL, context)
            if hadCheckpoint || Checkpoints.latest(out) != nil {
                try assertLatestLoads(out, context)
                hadCheckpoint = true
            }
        }
        let resumed = try Trainer(recipe: try Recipe.load(path: recipePath), options: quietOptions())
        XCTAssertEqual(Checkpoints.latest(out).map { _ in resumed.state.step > 0 }, hadCheckpoint ? true : nil, "history \(history)")
        XCTAssertNil(try resumed.run().stoppedBySignal)
        try assertSameRun(straight, resumed, "after SIGKILLs \(history)")
        print("SIGKILL rounds: \(history.count) (\(history.joined(separator: "; ")))")
    }

    /// SIGINT and SIGTERM finish the current step, write its checkpoint, say how to resume and exit
    /// 128 + signal; a second SIGINT exits at once (130). Resumed, the run equals the straight one.
    func testSIGINTAndSIGTERMStopCleanly() throws {
        let dir = scratchDirectory(self, "signals")
        let (recipePath, straight) = try setUpRun(dir)
        let out = dir + "/killed"
        for (round, sig) in [SIGINT, SIGTERM].enumerated() {
            let target = stepLines(out) + Int.random(in: 3...12, using: &random)
            let log = dir + "/signal-\(round).log"
            let p = try start(recipePath, log: log)
            XCTAssertTrue(wait(p, out: out, lines: target))
            kill(p.processIdentifier, sig)
            p.waitUntilExit()
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            XCTAssertEqual(p.terminationReason, .exit, text)
            XCTAssertEqual(p.terminationStatus, 128 + sig, text)
            let stoppedAt = stepLines(out)
            XCTAssertTrue(text.contains("stopped by \(sig == SIGINT ? "SIGINT" : "SIGTERM") after step \(stoppedAt) of 60"), text)
            XCTAssertTrue(text.contains("resume with"), text)
            // The step in progress was finished and checkpointed (whatever the checkpoint cadence).
            XCTAssertEqual(Checkpoints.latest(out), Checkpoints.directory(out) + "/" + Checkpoints.name(step: stoppedAt), text)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/adapter"), "a stopped run writes no final adapter")
            try assertLatestLoads(out, "after signal \(sig)")
        }

        // Two SIGINTs in a row: the second exits at once, 130, not killed; the last checkpoint still loads.
        let p = try start(recipePath, log: dir + "/double.log")
        XCTAssertTrue(wait(p, out: out, lines: stepLines(out) + 2))
        kill(p.processIdentifier, SIGINT)
        kill(p.processIdentifier, SIGINT)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationReason, .exit)
        XCTAssertEqual(p.terminationStatus, 130)
        try assertLatestLoads(out, "after two SIGINTs")

        let resumed = try Trainer(recipe: try Recipe.load(path: recipePath), options: quietOptions())
        XCTAssertGreaterThan(resumed.state.step, 0)
        _ = try resumed.run()
        try assertSameRun(straight, resumed, "after SIGINT, SIGTERM and a double SIGINT")
    }

    /// SIGINT while the final evaluation runs: it stops at the next eval batch (a whole evaluation of
    /// these 500 long examples would append its eval line to metrics.jsonl), writes no adapter, keeps
    /// the last step's checkpoint loadable and exits 130 like a SIGINT anywhere else. The process says
    /// when the final evaluation starts; the signal is sent once that line is in its output.
    func testSIGINTDuringTheFinalEvaluationStopsBetweenEvalBatches() throws {
        let dir = scratchDirectory(self, "final-eval")
        let out = dir + "/out"
        var object = try tinyRecipe(data: try syntheticDataset(in: dir, count: 4), output: out)
        setKey(&object, "data.eval", try syntheticDataset(in: dir, name: "eval.jsonl", count: 500, lengths: 200...250, seed: 2))
        setKey(&object, "data.max_seq_len", 256)
        setKey(&object, "train.batch_size", 1)
        let recipePath = dir + "/recipe.json"
        try writeRecipe(object, to: recipePath)
        let log = dir + "/final-eval.log"
        let p = try start(recipePath, log: log)
        func output() -> String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
        let deadline = Date().addingTimeInterval(120)
        while p.isRunning && Date() < deadline && !output().contains("final evaluation: 500 examples") { usleep(500) }
        XCTAssertTrue(p.isRunning, "ended before the signal: \(output())")
        kill(p.processIdentifier, SIGINT)
        p.waitUntilExit()
        let text = output()
        XCTAssertEqual(p.terminationReason, .exit, text)
        XCTAssertEqual(p.terminationStatus, 130, text)
        XCTAssertTrue(text.contains("stopped by SIGINT after step 4 of 4; checkpoint written."), text)
        XCTAssertFalse(text.contains("done:"), text)
        XCTAssertEqual(stepLines(out), 4)
        let metrics = try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8)
        XCTAssertFalse(metrics.contains("eval_loss"), "the evaluation was cut short, so no eval loss is recorded: \(metrics)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/adapter"), "a stopped run writes no final adapter")
        XCTAssertEqual(Checkpoints.latest(out), Checkpoints.directory(out) + "/" + Checkpoints.name(step: 4), text)
        try assertLatestLoads(out, "after SIGINT in the final evaluation")
    }
}
