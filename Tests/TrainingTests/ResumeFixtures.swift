import ChatData
import Foundation
import Llama
import SafeTensors
import Seeds
import Training
import XCTest

// Helpers of the checkpoint / resume / signal tests: a synthetic pre-tokenized dataset for the golden
// tiny-llama32 model (2 layers, vocab 512), recipes built on it, and bit-exact comparisons of two runs.

/// `count` pre-tokenized records of lengths in `lengths`, ids in 3..<512, the first third of each
/// untrained (a "prompt"). Deterministic in `seed`.
func syntheticDataset(in dir: String, name: String = "data.jsonl", count: Int, lengths: ClosedRange<Int> = 8...40,
                      seed: UInt64 = 1) throws -> String {
    var rng = SplitMix64(seed: seed)
    var text = ""
    for _ in 0..<count {
        let n = lengths.lowerBound + Int(rng.next(below: UInt64(lengths.count)))
        let ids = (0..<n).map { _ in 3 + Int(rng.next(below: 509)) }
        let labels = ids.enumerated().map { $0.offset < n / 3 ? -100 : $0.element }
        text += String(decoding: try JSONSerialization.data(withJSONObject: ["input_ids": ids, "labels": labels]), as: UTF8.self) + "\n"
    }
    let path = (dir as NSString).appendingPathComponent(name)
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

/// A recipe object on the golden tiny-llama32 model: cosine schedule with warmup (so lr varies every
/// step), weight decay and clipping on, checkpoints every 3 steps, one thread (bit-reproducible GEMMs).
func tinyRecipe(data: String, output: String) throws -> [String: Any] {
    [
        "model": try goldenDir("tiny-llama32"),
        "data": ["train": data, "format": "tokenized", "max_seq_len": 64, "shuffle": true],
        "lora": ["rank": 4, "alpha": 8],
        "optimizer": ["lr": 0.01, "weight_decay": 0.01, "max_grad_norm": 1.0],
        "schedule": ["type": "cosine", "warmup_steps": 2, "min_lr_ratio": 0.1],
        "train": ["batch_size": 2, "epochs": 1, "seed": 7, "threads": 1],
        "checkpoint": ["every_steps": 3, "keep_last": 2],
        "output_dir": output,
    ]
}

/// Sets a dotted key (`"lora.dropout"`) of a recipe object.
func setKey(_ object: inout [String: Any], _ key: String, _ value: Any) {
    let parts = key.split(separator: ".").map(String.init)
    if parts.count == 1 { object[key] = value; return }
    var section = object[parts[0]] as? [String: Any] ?? [:]
    setKey(&section, parts.dropFirst().joined(separator: "."), value)
    object[parts[0]] = section
}

/// Writes a recipe object to `path` and loads it.
@discardableResult
func writeRecipe(_ object: [String: Any], to path: String) throws -> Recipe {
    try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: path))
    return try Recipe.load(path: path)
}

/// Options that keep the log (for assertions) instead of printing it, and can stop the run after a step.
final class TestLog: @unchecked Sendable {
    var lines: [String] = []
    var text: String { lines.joined(separator: "\n") }
}

func recordingOptions(_ log: TestLog, stopAfter: Int? = nil, signal: Int32 = SIGINT) -> TrainOptions {
    var o = TrainOptions()
    o.log = { log.lines.append($0) }
    if let stopAfter {
        o.afterStep = { step in if step == stopAfter { StopSignals.simulate(signal) } }
    }
    return o
}

/// One metrics.jsonl line as the comparisons need it.
struct MetricsLine: Equatable, CustomStringConvertible {
    let step: Int
    let loss: Double?, lr: Double?, gradNorm: Double?, evalLoss: Double?

    var description: String {
        "step \(step) loss \(loss.map { "\($0)" } ?? "-") lr \(lr.map { "\($0)" } ?? "-") grad_norm \(gradNorm.map { "\($0)" } ?? "-") eval \(evalLoss.map { "\($0)" } ?? "-")"
    }
}

func metricsLines(_ outputDir: String) throws -> [MetricsLine] {
    let text = try String(contentsOfFile: outputDir + "/metrics.jsonl", encoding: .utf8)
    return try text.split(separator: "\n").map { line in
        let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
        func d(_ k: String) -> Double? { (o[k] as? NSNumber)?.doubleValue }
        return MetricsLine(step: (o["step"] as! NSNumber).intValue, loss: d("loss"), lr: d("lr"), gradNorm: d("grad_norm"), evalLoss: d("eval_loss"))
    }
}

/// Bit patterns, so that -0/+0 and NaN payloads count as differences too.
func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }

/// nil when `a` and `b` are bit-identical, else a short account of the difference.
func bitDifference(_ a: [Float], _ b: [Float]) -> String? {
    guard a.count == b.count else { return "\(a.count) vs \(b.count) elements" }
    let differing = a.indices.filter { a[$0].bitPattern != b[$0].bitPattern }
    guard let first = differing.first else { return nil }
    return "\(differing.count) of \(a.count) elements differ, first [\(first)]: \(a[first]) vs \(b[first])"
}

func assertBitIdentical(_ a: [Float], _ b: [Float], _ what: @autoclosure () -> String, file: StaticString = #filePath, line: UInt = #line) {
    if let d = bitDifference(a, b) { XCTFail("\(what()): \(d)", file: file, line: line) }
}

func fileBytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

/// Asserts that two finished runs are the same run: adapter and optimizer tensors bit for bit (in
/// memory and as checkpoint / adapter files), the trainer state (but for wall time) and every
/// metrics line's loss, lr, grad_norm and eval loss.
func assertSameRun(_ a: Trainer, _ b: Trainer, _ what: String, file: StaticString = #filePath, line: UInt = #line) throws {
    XCTAssertEqual(a.state.step, b.state.step, "\(what): steps", file: file, line: line)
    XCTAssertEqual(a.adapters.namedParameters.map(\.name), b.adapters.namedParameters.map(\.name), file: file, line: line)
    for ((name, x), (_, y)) in zip(a.adapters.namedParameters, b.adapters.namedParameters) {
        assertBitIdentical(x.value.array, y.value.array, "\(what): adapter tensor \(name)", file: file, line: line)
    }
    XCTAssertEqual(a.optimizer.step, b.optimizer.step, "\(what): AdamW step", file: file, line: line)
    for i in a.optimizer.m.indices {
        assertBitIdentical(a.optimizer.m[i].array, b.optimizer.m[i].array, "\(what): AdamW m[\(i)]", file: file, line: line)
        assertBitIdentical(a.optimizer.v[i].array, b.optimizer.v[i].array, "\(what): AdamW v[\(i)]", file: file, line: line)
    }
    var sa = a.state, sb = b.state
    sa.elapsedSeconds = 0; sb.elapsedSeconds = 0
    XCTAssertEqual(sa, sb, "\(what): trainer state", file: file, line: line)

    let outA = a.recipe.outputDir, outB = b.recipe.outputDir
    let last = "checkpoints/" + Checkpoints.name(step: a.state.step)
    for f in ["\(last)/adapter_model.safetensors", "\(last)/optimizer.safetensors", "adapter/adapter_model.safetensors"] {
        XCTAssertTrue(try fileBytes(outA + "/" + f) == fileBytes(outB + "/" + f), "\(what): \(f) differs", file: file, line: line)
    }
    let ma = try metricsLines(outA), mb = try metricsLines(outB)
    XCTAssertEqual(ma.count, mb.count, "\(what): metrics line count", file: file, line: line)
    for (x, y) in zip(ma, mb) where x != y {
        XCTFail("\(what): metrics differ:\n  \(x)\n  \(y)", file: file, line: line)
    }
    // Guard against comparing two untouched runs: every step line is there and the adapter moved.
    XCTAssertEqual(ma.filter { $0.loss != nil }.map(\.step), Array(1...a.state.step), "\(what): step lines", file: file, line: line)
    XCTAssertTrue(a.adapters.namedParameters.contains { $0.name.contains("lora_B") && $0.variable.value.array.contains { $0 != 0 } },
                  "\(what): lora_B never moved", file: file, line: line)
}
