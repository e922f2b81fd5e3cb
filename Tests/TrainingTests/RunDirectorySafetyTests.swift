import Foundation
@testable import Training
import XCTest

/// A run never takes over, moves or cleans a folder that is not its own.
final class RunDirectorySafetyTests: XCTestCase {
    func recipeObject(_ dir: String, output: String) throws -> [String: Any] {
        let data = try syntheticDataset(in: dir, count: 6)
        var o = try tinyRecipe(data: data, output: output)
        setKey(&o, "train.max_steps", 1)
        return o
    }

    func assertRefused(_ object: [String: Any], restart: Bool = false, in dir: String, _ phrase: String,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let recipe = try writeRecipe(object, to: dir + "/r-\(UUID().uuidString).json")
        var options = quietOptions()
        options.restart = restart
        XCTAssertThrowsError(try Trainer(recipe: recipe, options: options), file: file, line: line) { error in
            XCTAssertTrue(error.localizedDescription.contains(phrase), error.localizedDescription, file: file, line: line)
        }
    }

    func testEmptyOutputDirIsRefusedByTheRecipe() throws {
        let dir = scratchDirectory(self, "empty-out")
        XCTAssertThrowsError(try writeRecipe(try recipeObject(dir, output: ""), to: dir + "/r.json")) { error in
            XCTAssertTrue(error.localizedDescription.contains("output_dir"), error.localizedDescription)
        }
    }

    func testCurrentDirectoryAndItsParentsAreRefused() throws {
        let dir = scratchDirectory(self, "cwd")
        let here = FileManager.default.currentDirectoryPath
        for out in [here, (here as NSString).deletingLastPathComponent, "/"] {
            try assertRefused(try recipeObject(dir, output: out), restart: true, in: dir, "current directory")
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: here), "--restart moved nothing")
    }

    func testModelDirectoryAndInputsAreRefused() throws {
        let dir = scratchDirectory(self, "inputs")
        let object = try recipeObject(dir, output: "x")
        let model = try goldenDir("tiny-llama32")
        try assertRefused(try recipeObject(dir, output: model), restart: true, in: dir, "an input of this run")
        // The folder that holds the training data.
        try assertRefused(try recipeObject(dir, output: dir), restart: true, in: dir, "an input of this run")
        XCTAssertTrue(FileManager.default.fileExists(atPath: model + "/config.json"))
        XCTAssertNotNil(object)
    }

    func testNonEmptyFolderThatIsNotARunIsRefusedAndLeftAlone() throws {
        let dir = scratchDirectory(self, "foreign")
        let out = dir + "/project"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        try Data("keep".utf8).write(to: URL(fileURLWithPath: out + "/notes.txt"))
        for restart in [false, true] {
            try assertRefused(try recipeObject(dir, output: out), restart: restart, in: dir, "not a llama-sft run")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out), ["notes.txt"], "nothing added, moved or removed")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains(".old-") }, [])
    }

    func testARunDirectoryIsMarkedAndCanBeRestarted() throws {
        let dir = scratchDirectory(self, "marked")
        let out = dir + "/run"
        let recipe = try writeRecipe(try recipeObject(dir, output: out), to: dir + "/r.json")
        _ = try Trainer(recipe: recipe, options: quietOptions()).run()
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/" + RunDirectory.markerName))
        var options = quietOptions()
        options.restart = true
        _ = try Trainer(recipe: recipe, options: options).run()
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix("run.old-") }.count, 1)
        // A run written before the marker existed (lock file + metrics) is still recognised.
        let legacy = dir + "/legacy"
        try FileManager.default.createDirectory(atPath: legacy, withIntermediateDirectories: true)
        for name in [".llama-sft.lock", "metrics.jsonl"] { FileManager.default.createFile(atPath: legacy + "/" + name, contents: Data()) }
        XCTAssertNoThrow(try Trainer(recipe: try writeRecipe(try recipeObject(dir, output: legacy), to: dir + "/l.json"), options: quietOptions()))
    }

    /// A run killed between taking the folder's lock and renaming its marker into place leaves only the
    /// lock file and the marker's temporary: the next run takes the folder over (and removes the
    /// temporary); one file of anyone else's beside them still gets the folder refused.
    func testAFolderKilledBeforeItsMarkerWasInPlaceIsStillARun() throws {
        let dir = scratchDirectory(self, "unmarked")
        let out = dir + "/run"
        let fm = FileManager.default
        try fm.createDirectory(atPath: out, withIntermediateDirectories: true)
        for name in [".llama-sft.lock", "." + RunDirectory.markerName + ".tmp-4242-17"] { fm.createFile(atPath: out + "/" + name, contents: Data()) }
        let recipe = try writeRecipe(try recipeObject(dir, output: out), to: dir + "/r.json")
        _ = try Trainer(recipe: recipe, options: quietOptions()).run()
        XCTAssertTrue(fm.fileExists(atPath: out + "/" + RunDirectory.markerName))
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: out).filter { $0.contains(".tmp-") }, [])

        let foreign = dir + "/foreign"
        try fm.createDirectory(atPath: foreign, withIntermediateDirectories: true)
        for name in [".llama-sft.lock", "notes.txt"] { fm.createFile(atPath: foreign + "/" + name, contents: Data()) }
        try assertRefused(try recipeObject(dir, output: foreign), restart: false, in: dir, "not a llama-sft run")
    }

    func testZeroAdamEpsilonIsRefusedUpFront() throws {
        let dir = scratchDirectory(self, "eps")
        var object = try recipeObject(dir, output: dir + "/run")
        setKey(&object, "optimizer.eps", 0)
        XCTAssertThrowsError(try writeRecipe(object, to: dir + "/r.json")) { error in
            XCTAssertTrue(error.localizedDescription.contains("eps"), error.localizedDescription)
        }
    }
}
