import Foundation
import Llama
import Training
import XCTest

/// `mpirun -np 2 llama-sft train`: two ranks train the same model as one process (same adapter,
/// optimizer state and logged losses), survive a SIGKILL of the whole job (resumed with 1 or 2 ranks),
/// stop when one rank dies, and refuse ranks that disagree. Skipped when Open MPI's mpirun is absent
/// (CI installs it). Uses the `llama-sft` executable that `swift test` builds beside the test bundle.
final class MPITrainingTests: XCTestCase {
    func mpirun() throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") where FileManager.default.isExecutableFile(atPath: "\(dir)/mpirun") {
            return "\(dir)/mpirun"
        }
        throw XCTSkip("mpirun not found: the 2-rank training tests need Open MPI (apt-get install openmpi-bin libopenmpi-dev)")
    }

    func executable() throws -> String {
        let folders = [Bundle.main.executableURL?.deletingLastPathComponent(), Bundle(for: Self.self).bundleURL.deletingLastPathComponent()]
        for folder in folders.compactMap({ $0 }) {
            let path = folder.appendingPathComponent("llama-sft").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw XCTSkip("no llama-sft executable beside the test bundle; `swift build` builds it")
    }

    /// A process writing stdout and stderr to `log`.
    func launch(_ tool: String, _ arguments: [String], log: String, environment: [String: String]? = nil) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = arguments
        if let environment { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        return p
    }

    /// `mpirun -np ranks llama-sft train recipe` (or several `:`-separated recipes, one rank each).
    func startJob(_ recipes: [String], ranks: Int, log: String) throws -> Process {
        var args = ["--allow-run-as-root", "--oversubscribe"]
        let exe = try executable()
        if recipes.count == 1 {
            args += ["-np", "\(ranks)", exe, "train", recipes[0]]
        } else {
            args += recipes.enumerated().flatMap { i, r in (i > 0 ? [":"] : []) + ["-np", "1", exe, "train", r] }
        }
        return try launch(try mpirun(), args, log: log)
    }

    func runJob(_ recipes: [String], ranks: Int, log: String) throws -> (status: Int32, text: String) {
        let p = try startJob(recipes, ranks: ranks, log: log)
        p.waitUntilExit()
        return (p.terminationStatus, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
    }

    /// `steps` steps over a synthetic dataset, eval every 2 steps, checkpoints every 2 steps.
    func recipe(_ dir: String, _ name: String, gradAccum: Int, packing: Bool, steps: Int, batch: Int = 2) throws -> String {
        let data = dir + "/data.jsonl"
        if !FileManager.default.fileExists(atPath: data) { _ = try syntheticDataset(in: dir, count: 40) }
        var o = try tinyRecipe(data: data, output: dir + "/" + name)
        setKey(&o, "train.batch_size", batch)
        setKey(&o, "train.grad_accum", gradAccum)
        setKey(&o, "train.max_steps", steps)
        setKey(&o, "data.packing", packing)
        setKey(&o, "data.eval_fraction", 0.15)
        setKey(&o, "eval.every_steps", 2)
        setKey(&o, "checkpoint.every_steps", 2)
        setKey(&o, "checkpoint.keep_last", 10)
        let path = dir + "/\(name).json"
        try writeRecipe(o, to: path)
        return path
    }

    /// A finished run as its files show it: final adapter, last checkpoint's optimizer state, metrics.
    struct Finished {
        var adapter: [(String, [Float])]
        var m: [[Float]], v: [[Float]]
        var state: TrainerState
        var metrics: [MetricsLine]
    }

    func finished(_ out: String) throws -> Finished {
        let config = try LlamaConfig.load(path: try goldenDir("tiny-llama32"))
        let adapters = try PEFTAdapter.load(directory: out + "/adapter", model: config).0
        let last = try XCTUnwrap(Checkpoints.latest(out), "no checkpoint in \(out)")
        let loaded = try Checkpoints.load(last, parameterNames: adapters.namedParameters.map(\.name))
        return Finished(adapter: adapters.namedParameters.map { ($0.name, $0.variable.value.array) },
                        m: loaded.m.map(\.array), v: loaded.v.map(\.array), state: loaded.state, metrics: try metricsLines(out))
    }

    /// ‖a − b‖ / ‖b‖ (0 for two zero tensors).
    func relative(_ a: [Float], _ b: [Float]) -> Double {
        var d = 0.0, n = 0.0
        for (x, y) in zip(a, b) { d += Double(x - y) * Double(x - y); n += Double(y) * Double(y) }
        return n == 0 ? d.squareRoot() : (d / n).squareRoot()
    }

    func relative(_ a: Double?, _ b: Double?) -> Double {
        guard let a, let b else { return a == nil && b == nil ? 0 : .infinity }
        return abs(a - b) / max(abs(b), 1e-30)
    }

    /// The same run: tensors and logged values within 1e-6 relative, or bit for bit when `exact`.
    func assertSame(_ a: Finished, _ b: Finished, exact: Bool, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.state.step, b.state.step, "\(what): steps", file: file, line: line)
        XCTAssertEqual(a.adapter.map(\.0), b.adapter.map(\.0), file: file, line: line)
        var worst = 0.0
        let pairs = zip(a.adapter, b.adapter).map { ($0.0.0, $0.0.1, $0.1.1) }
            + a.m.indices.map { ("m[\($0)]", a.m[$0], b.m[$0]) } + a.v.indices.map { ("v[\($0)]", a.v[$0], b.v[$0]) }
        for (name, x, y) in pairs {
            if exact { assertBitIdentical(x, y, "\(what): \(name)", file: file, line: line) }
            let r = relative(x, y)
            worst = max(worst, r)
            XCTAssertLessThanOrEqual(r, 1e-6, "\(what): \(name)", file: file, line: line)
        }
        XCTAssertEqual(a.state.tokensSeen, b.state.tokensSeen, what, file: file, line: line)
        XCTAssertEqual(a.state.trainedTokensSeen, b.state.trainedTokensSeen, what, file: file, line: line)
        XCTAssertEqual(a.metrics.map(\.step), b.metrics.map(\.step), "\(what): metrics lines", file: file, line: line)
        for (x, y) in zip(a.metrics, b.metrics) {
            if exact { XCTAssertEqual(x, y, what, file: file, line: line) }
            for (p, q) in [(x.loss, y.loss), (x.lr, y.lr), (x.gradNorm, y.gradNorm), (x.evalLoss, y.evalLoss)] {
                XCTAssertLessThanOrEqual(relative(p, q), 1e-6, "\(what): \(x) vs \(y)", file: file, line: line)
            }
        }
        // Not two untouched runs: every step is logged and the adapters moved.
        XCTAssertEqual(a.metrics.filter { $0.loss != nil }.count, a.state.step, file: file, line: line)
        XCTAssertTrue(a.adapter.contains { $0.0.contains("lora_B") && $0.1.contains { $0 != 0 } }, file: file, line: line)
        print("\(what): largest relative difference \(worst)")
    }

    /// grad_accum 1 and 4, packing off and on: two ranks give the one-process run bit for bit. Each
    /// micro-batch's gradient is exchanged on its own and added in micro-batch order, the order in which
    /// one process accumulates them; with one micro-batch per step the idle rank takes no part in the
    /// sum. (Bit-exact needs each micro-batch's weight-gradient GEMMs to fit one OpenBLAS k-block, as
    /// these tiny batches do; larger ones stay within 1e-6, which is checked too.)
    func testTwoRanksEqualOneProcess() throws {
        _ = try mpirun()
        let dir = scratchDirectory(self, "mpi-same")
        for (accum, packing) in [(1, false), (4, false), (1, true), (4, true)] {
            let name = "accum\(accum)-packing\(packing)"
            let one = try recipe(dir, name + "-one", gradAccum: accum, packing: packing, steps: 4)
            let two = try recipe(dir, name + "-two", gradAccum: accum, packing: packing, steps: 4)
            XCTAssertNil(try Trainer(recipe: try Recipe.load(path: one), options: quietOptions()).run().stoppedBySignal)
            let job = try runJob([two], ranks: 2, log: dir + "/\(name).log")
            XCTAssertEqual(job.status, 0, job.text)
            XCTAssertTrue(job.text.contains("ranks      2 processes"), job.text)
            assertSame(try finished(dir + "/" + name + "-two"), try finished(dir + "/" + name + "-one"), exact: true, name)
        }
    }

    /// Descendants of `pid` (mpirun's ranks), from /proc.
    func children(of pid: Int32) -> [Int32] {
        let all = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        var found: [Int32] = []
        for entry in all {
            guard let p = Int32(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 1, Int32(fields[1]) == pid { found.append(p); found += children(of: p) }
        }
        return found
    }

    /// The rank of a process started by mpirun, from its environment.
    func rank(of pid: Int32) -> Int? {
        guard let env = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return nil }
        for item in env.split(separator: 0) {
            let s = String(decoding: item, as: UTF8.self)
            if s.hasPrefix("OMPI_COMM_WORLD_RANK=") { return Int(s.dropFirst("OMPI_COMM_WORLD_RANK=".count)) }
        }
        return nil
    }

    func stepLines(_ out: String) -> Int {
        guard let text = try? String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8) else { return 0 }
        return text.split(separator: "\n").filter { $0.contains("\"loss\"") && $0.hasSuffix("}") }.count
    }

    func waitForSteps(_ p: Process, _ out: String, _ lines: Int) -> Bool {
        let deadline = Date().addingTimeInterval(180)
        while p.isRunning && Date() < deadline {
            if stepLines(out) >= lines { return true }
            usleep(2000)
        }
        return false
    }

    /// SIGKILL of mpirun and both ranks mid-run; the run resumed from its last checkpoint with one
    /// process and, separately, with two ranks, ends as the uninterrupted run did.
    func testResumeAfterKillingTheWholeJob() throws {
        _ = try mpirun()
        let dir = scratchDirectory(self, "mpi-kill")
        let straight = try recipe(dir, "straight", gradAccum: 2, packing: false, steps: 12)
        XCTAssertNil(try Trainer(recipe: try Recipe.load(path: straight), options: quietOptions()).run().stoppedBySignal)
        let killed = try recipe(dir, "killed", gradAccum: 2, packing: false, steps: 12)
        let p = try startJob([killed], ranks: 2, log: dir + "/killed.log")
        XCTAssertTrue(waitForSteps(p, dir + "/killed", 5), (try? String(contentsOfFile: dir + "/killed.log", encoding: .utf8)) ?? "")
        let ranks = children(of: p.processIdentifier)
        kill(p.processIdentifier, SIGKILL)
        for r in ranks { kill(r, SIGKILL) }
        p.waitUntilExit()
        let checkpoint = try XCTUnwrap(Checkpoints.latest(dir + "/killed"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/killed/adapter"), "killed before the end")

        for ranks in [1, 2] {
            let out = dir + "/resumed-\(ranks)"
            try FileManager.default.copyItem(atPath: dir + "/killed", toPath: out)
            let path = try recipe(dir, "resumed-\(ranks)", gradAccum: 2, packing: false, steps: 12)
            let job = ranks == 1
                ? try { () throws -> (status: Int32, text: String) in
                    let q = try launch(try executable(), ["train", path], log: dir + "/resumed-1.log")
                    q.waitUntilExit()
                    return (q.terminationStatus, (try? String(contentsOfFile: dir + "/resumed-1.log", encoding: .utf8)) ?? "")
                }()
                : try runJob([path], ranks: 2, log: dir + "/resumed-2.log")
            XCTAssertEqual(job.status, 0, job.text)
            XCTAssertTrue(job.text.contains("resuming from"), job.text)
            assertSame(try finished(out), try finished(dir + "/straight"), exact: false, "killed at \((checkpoint as NSString).lastPathComponent), resumed with \(ranks) rank(s)")
        }
    }

    /// One rank killed: the job ends non-zero with a message naming the dead rank, and the last
    /// checkpoint is complete and loads.
    func testDeadRankStopsTheJob() throws {
        _ = try mpirun()
        let dir = scratchDirectory(self, "mpi-dead")
        let path = try recipe(dir, "run", gradAccum: 2, packing: false, steps: 400)
        let p = try startJob([path], ranks: 2, log: dir + "/run.log")
        XCTAssertTrue(waitForSteps(p, dir + "/run", 5))
        let victim = try XCTUnwrap(children(of: p.processIdentifier).first { rank(of: $0) == 1 }, "rank 1 not found")
        kill(victim, SIGKILL)
        p.waitUntilExit()
        let text = (try? String(contentsOfFile: dir + "/run.log", encoding: .utf8)) ?? ""
        XCTAssertNotEqual(p.terminationStatus, 0, text)
        XCTAssertTrue(text.contains("rank 1") && text.contains("signal 9"), text)
        XCTAssertFalse(children(of: p.processIdentifier).contains { rank(of: $0) == 0 }, "rank 0 must not outlive the job")
        let latest = try XCTUnwrap(Checkpoints.latest(dir + "/run"), text)
        let config = try LlamaConfig.load(path: try goldenDir("tiny-llama32"))
        let adapters = try PEFTAdapter.load(directory: latest, model: config).0
        let loaded = try Checkpoints.load(latest, parameterNames: adapters.namedParameters.map(\.name))
        XCTAssertGreaterThanOrEqual(loaded.state.step, 2)
    }

    /// SIGTERM to one rank (not rank 0): all ranks stop after the same step, rank 0 writes that step's
    /// checkpoint and says how to resume, and the job exits 143.
    func testSIGTERMToOneRankStopsAllAfterTheStep() throws {
        _ = try mpirun()
        let dir = scratchDirectory(self, "mpi-term")
        let path = try recipe(dir, "run", gradAccum: 2, packing: false, steps: 400)
        let p = try startJob([path], ranks: 2, log: dir + "/run.log")
        XCTAssertTrue(waitForSteps(p, dir + "/run", 3))
        let victim = try XCTUnwrap(children(of: p.processIdentifier).first { rank(of: $0) == 1 }, "rank 1 not found")
        kill(victim, SIGTERM)
        p.waitUntilExit()
        let text = (try? String(contentsOfFile: dir + "/run.log", encoding: .utf8)) ?? ""
        XCTAssertEqual(p.terminationStatus, 143, text)
        let stoppedAt = stepLines(dir + "/run")
        XCTAssertTrue(text.contains("stopped by SIGTERM after step \(stoppedAt) of 400"), text)
        XCTAssertEqual(Checkpoints.latest(dir + "/run"), Checkpoints.directory(dir + "/run") + "/" + Checkpoints.name(step: stoppedAt), text)
    }

    /// Ranks with another learning rate and other data are refused at start-up, naming the rank and
    /// the keys; nothing is trained.
    func testRanksThatDisagreeAreRefused() throws {
        _ = try mpirun()
        let dir = scratchDirectory(self, "mpi-disagree")
        let a = try recipe(dir, "a", gradAccum: 1, packing: false, steps: 2)
        var o = try jsonObject(a)
        setKey(&o, "optimizer.lr", 0.02)
        setKey(&o, "data.train", try syntheticDataset(in: dir, name: "other.jsonl", count: 40, seed: 2))
        let b = dir + "/b.json"
        try writeRecipe(o, to: b)
        let job = try runJob([a, b], ranks: 2, log: dir + "/job.log")
        XCTAssertNotEqual(job.status, 0, job.text)
        XCTAssertTrue(job.text.contains("rank 1: "), job.text)
        XCTAssertTrue(job.text.contains("optimizer.lr is [0.02] on rank 1 but [0.01] on rank 0"), job.text)
        XCTAssertTrue(job.text.contains("(training data fingerprint)"), job.text)
        XCTAssertNil(Checkpoints.latest(dir + "/a"))
    }

    /// Started as if by mpirun but with no loadable libmpi: a clear refusal, not a one-process run.
    /// (Needs no MPI installed: the launcher's variables are set by hand.)
    func testMPILaunchWithoutLibraryRefuses() throws {
        let dir = scratchDirectory(self, "mpi-nolib")
        let path = try recipe(dir, "run", gradAccum: 1, packing: false, steps: 2)
        let p = try launch(try executable(), ["train", path], log: dir + "/run.log",
                           environment: ["OMPI_COMM_WORLD_RANK": "0", "OMPI_COMM_WORLD_SIZE": "2", "LLAMA_SFT_LIBMPI": dir + "/no-libmpi.so.40"])
        p.waitUntilExit()
        let text = (try? String(contentsOfFile: dir + "/run.log", encoding: .utf8)) ?? ""
        XCTAssertEqual(p.terminationStatus, 1, text)
        XCTAssertTrue(text.contains("started by mpirun (rank 0 of 2) but cannot load Open MPI's library"), text)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/run"), "nothing trained")
    }
}
