import Foundation
import Llama
import SafeTensors
import TestSupport
import Training
import XCTest

/// A scratch folder removed after the test.
func scratchDirectory(_ test: XCTestCase, _ name: String = "run") -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("llama-sft-\(name)-\(UUID().uuidString)").path
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
    return dir
}

func goldenDir(_ name: String) throws -> String { try SharedFixtures.path("golden/\(name)").path }

func jsonObject(_ path: String) throws -> [String: Any] {
    try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
}

/// inputs.json of a golden fixture as a pre-tokenized JSONL dataset (`input_ids` + unshifted `labels`).
func tokenizedDataset(fixture: String, in dir: String, copies: Int = 1) throws -> String {
    let inputs = try jsonObject(try goldenDir(fixture) + "/inputs.json")
    let seqs = inputs["sequences"] as! [[Int]], labels = inputs["labels"] as! [[Int]]
    var lines = ""
    for _ in 0..<copies {
        for (s, l) in zip(seqs, labels) {
            let d = try JSONSerialization.data(withJSONObject: ["input_ids": s, "labels": l])
            lines += String(decoding: d, as: UTF8.self) + "\n"
        }
    }
    let path = dir + "/data.jsonl"
    try lines.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

/// Writes a recipe JSON object and loads it.
func makeRecipe(_ object: [String: Any], in dir: String) throws -> Recipe {
    let path = dir + "/recipe.json"
    try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted]).write(to: URL(fileURLWithPath: path))
    return try Recipe.load(path: path)
}

/// max |a − b| / max |b|.
func maxRelativeError(_ a: [Float], _ b: [Float]) -> Double {
    var d: Float = 0, m: Float = 0
    for (x, y) in zip(a, b) { d = max(d, abs(x - y)); m = max(m, abs(y)) }
    return Double(d / max(m, 1e-30))
}

func quietOptions() -> TrainOptions {
    var o = TrainOptions()
    o.log = { _ in }
    return o
}
