import Foundation
import TestSupport
import XCTest

/// The `llama-sft` executable that `swift test` builds beside the test bundle. Missing is a failure,
/// never a skip: a test that cannot run must not pass.
func llamaSFTExecutable(file: StaticString = #filePath, line: UInt = #line) throws -> String {
    let folders = [Bundle.main.executableURL?.deletingLastPathComponent(),
                   Bundle(for: CommandLineTests.self).bundleURL.deletingLastPathComponent()].compactMap { $0 }
    for folder in folders {
        let path = folder.appendingPathComponent("llama-sft").path
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    let message = "no llama-sft executable beside the test bundle (looked in \(folders.map(\.path))); `swift build` (which `swift test` runs) makes it"
    XCTFail(message, file: file, line: line)
    throw NSError(domain: "llama-sft tests", code: 1, userInfo: [NSLocalizedDescriptionKey: message])
}

/// The repository root (for the committed tiny model and sample data).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

/// Hostile command lines: each ends in a clear message and an exit code, never a trap, and no command
/// writes over its own inputs or an existing file without --force.
final class CommandLineTests: XCTestCase {
    struct Outcome {
        var status: Int32
        var trapped: Bool
        var output: String
    }

    func run(_ args: [String], cwd: String? = nil, stdin: String? = nil) throws -> Outcome {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try llamaSFTExecutable())
        p.arguments = args
        p.currentDirectoryURL = URL(fileURLWithPath: cwd ?? repositoryRoot)
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        if let stdin {
            let input = Pipe()
            p.standardInput = input
            try p.run()
            input.fileHandleForWriting.write(Data(stdin.utf8))
            try input.fileHandleForWriting.close()
        } else {
            try p.run()
        }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Outcome(status: p.terminationStatus, trapped: p.terminationReason == .uncaughtSignal,
                       output: String(decoding: data, as: UTF8.self))
    }

    func assertRefused(_ args: [String], status: Int32, _ phrase: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try run(args)
        XCTAssertFalse(r.trapped, "\(args): trapped\n\(r.output)", file: file, line: line)
        XCTAssertEqual(r.status, status, "\(args)\n\(r.output)", file: file, line: line)
        XCTAssertTrue(r.output.contains(phrase), "\(args): expected “\(phrase)” in\n\(r.output)", file: file, line: line)
    }

    let model = repositoryRoot + "/checkpoints/tiny-base"

    func testNegativeAndHugeNumbersAreUsageErrors() throws {
        let dir = scratchDirectory(self, "cli-numbers")
        try assertRefused(["chat", "--model", model, "--seed", "-1", "--prompt", "hi"], status: 2, "--seed")
        try assertRefused(["init-model", "--out", dir + "/m1", "--seed", "-1"], status: 2, "--seed")
        try assertRefused(["init-model", "--out", dir + "/m2", "--layers", "-1"], status: 2, "--layers")
        try assertRefused(["init-model", "--out", dir + "/m3", "--hidden", "4000000000"], status: 2, "--hidden")
        try assertRefused(["init-model", "--out", dir + "/m4", "--vocab", "1000000", "--hidden", "65536", "--layers", "1000"], status: 2, "MiB")
        for name in ["m1", "m2", "m3", "m4"] {
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/" + name), "\(name): no half-written model folder")
        }
        try assertRefused(["bench", "tiny", "--seq", "9223372036854775807"], status: 2, "--seq")
        try assertRefused(["bench", "tiny", "--batch", "1000000000"], status: 2, "--batch")
        try assertRefused(["bench", "tiny", "--seq", "1048576", "--batch", "4096"], status: 1, "available")
        try assertRefused(["data", "recipes/quickstart.json", "--show", "-1"], status: 2, "--show")
    }

    func testLogitsLabelsOutsideTheVocabularyAreRefused() throws {
        let dir = scratchDirectory(self, "cli-logits")
        for label in [5000, -101] {
            let input = dir + "/in-\(label).json"
            try JSONSerialization.data(withJSONObject: ["sequences": [[1, 2, 3]], "labels": [[1, label, 3]]]).write(to: URL(fileURLWithPath: input))
            try assertRefused(["logits", "--model", model, "--input", input, "--out", dir + "/out-\(label).safetensors"], status: 1, "labels[0]")
        }
    }

    func testOutputsNeverReplaceInputsOrExistingFiles() throws {
        let dir = scratchDirectory(self, "cli-outputs")
        let train = dir + "/train.jsonl"
        try FileManager.default.copyItem(atPath: repositoryRoot + "/datasets/no_robots_sample/train.jsonl", toPath: train)
        let original = try fileBytes(train)
        var recipe = try JSONSerialization.jsonObject(with: fileBytes(repositoryRoot + "/recipes/quickstart.json")) as! [String: Any]
        recipe["model"] = model
        recipe["data"] = ["train": train]
        recipe["output_dir"] = dir + "/run"
        try JSONSerialization.data(withJSONObject: recipe).write(to: URL(fileURLWithPath: dir + "/r.json"))

        try assertRefused(["data", dir + "/r.json", "--show", "0", "--dump", train], status: 1, "input of this command")
        try assertRefused(["data", dir + "/r.json", "--show", "0", "--dump", dir + "/../" + (dir as NSString).lastPathComponent + "/r.json"], status: 1, "input of this command")
        XCTAssertEqual(try fileBytes(train), original, "the training set is intact")
        try Data("keep".utf8).write(to: URL(fileURLWithPath: dir + "/existing.jsonl"))
        try assertRefused(["data", dir + "/r.json", "--show", "0", "--dump", dir + "/existing.jsonl"], status: 1, "--force")
        XCTAssertEqual(try fileBytes(dir + "/existing.jsonl"), Data("keep".utf8))
        XCTAssertEqual(try run(["data", dir + "/r.json", "--show", "0", "--dump", dir + "/existing.jsonl", "--force"]).status, 0)

        let input = dir + "/in.json"
        try JSONSerialization.data(withJSONObject: ["sequences": [[1, 2, 3]]]).write(to: URL(fileURLWithPath: input))
        try assertRefused(["logits", "--model", model, "--input", input, "--out", input], status: 1, "input of this command")
        try assertRefused(["logits", "--model", model, "--input", input, "--out", model + "/model.safetensors"], status: 1, "input of this command")
        XCTAssertTrue(FileManager.default.fileExists(atPath: model + "/model.safetensors"))
    }

    func testDataShowEscapesControlCharacters() throws {
        let dir = scratchDirectory(self, "cli-escape")
        let hostile = "Title\u{1B}]0;pwned\u{07} and \u{1B}[31mred\u{1B}[0m and \u{9B}2J"
        let record: [String: Any] = ["messages": [["role": "user", "content": "Say it"], ["role": "assistant", "content": hostile]],
                                     "category": "x\u{1B}[2J"]
        try JSONSerialization.data(withJSONObject: record).write(to: URL(fileURLWithPath: dir + "/train.jsonl"))
        var recipe = try JSONSerialization.jsonObject(with: fileBytes(repositoryRoot + "/recipes/quickstart.json")) as! [String: Any]
        recipe["model"] = model
        recipe["data"] = ["train": dir + "/train.jsonl"]
        recipe["output_dir"] = dir + "/run"
        try JSONSerialization.data(withJSONObject: recipe).write(to: URL(fileURLWithPath: dir + "/r.json"))
        let r = try run(["data", dir + "/r.json", "--show", "1"])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertFalse(r.output.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 || $0.value == 0x9B }, r.output)
        XCTAssertTrue(r.output.contains("\\u{1B}]0;pwned"), r.output)
    }

    /// A tokenizer that is not the model's (Llama 3's, 128256 ids, beside the 1024-token quickstart
    /// model) makes ids past the embedding table: the turn is refused with the id and the vocabulary.
    func testAChatPromptWithIdsOutsideTheVocabularyIsRefused() throws {
        let dir = scratchDirectory(self, "cli-chat-vocab")
        let fm = FileManager.default
        for name in ["config.json", "generation_config.json", "model.safetensors", "tokenizer_config.json"] {
            try fm.createSymbolicLink(atPath: dir + "/" + name, withDestinationPath: model + "/" + name)
        }
        try fm.createSymbolicLink(atPath: dir + "/tokenizer.json", withDestinationPath: try SharedFixtures.path("assets/llama3-tokenizer/tokenizer.json").path)
        let r = try run(["chat", "--model", dir, "--prompt", "winter hobbies", "--max-new-tokens", "2"])
        XCTAssertFalse(r.trapped, r.output)
        XCTAssertEqual(r.status, 1, r.output)
        XCTAssertTrue(r.output.contains("outside the model's vocabulary 0..<1024"), r.output)
    }

    func testAChatPromptPastTheContextIsRefusedQuickly() throws {
        let r = try run(["chat", "--model", model, "--prompt", String(repeating: "winter hobbies ", count: 3000), "--max-new-tokens", "4"])
        XCTAssertFalse(r.trapped, r.output)
        XCTAssertEqual(r.status, 1, r.output)
        XCTAssertTrue(r.output.contains("max_position_embeddings"), r.output)
    }
}
