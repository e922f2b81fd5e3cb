import Export
import Foundation
import XCTest

/// `--out` safety: non-empty directories are refused without `--force`; replacement happens only at the end.
final class OutputDirectoryTests: XCTestCase {
    func testNonEmptyOutputIsRefusedWithoutForceAndLeftAlone() throws {
        let f = try ExportFixture("tiny-llama3")
        let out = try scratchDirectory(self) + "/existing"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        try writeText("keep me", out + "/notes.txt")
        XCTAssertThrowsError(try Exporter.export(ExportOptions(source: f.adapter, output: out, baseModel: f.dir))) { error in
            guard case ExportError.outputNotEmpty = error else { return XCTFail("expected outputNotEmpty, got \(error)") }
            XCTAssertTrue(error.localizedDescription.contains("--force"), error.localizedDescription)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out), ["notes.txt"])
        XCTAssertEqual(try hiddenLeftovers(besides: out), [], "no temporary folder may be left behind")
    }

    func testForceReplacesTheOldDirectoryWithTheCompleteExport() throws {
        let f = try ExportFixture("tiny-llama3")
        let out = try scratchDirectory(self) + "/existing"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        try writeText("old", out + "/notes.txt")
        _ = try Exporter.export(ExportOptions(source: f.adapter, output: out, force: true, baseModel: f.dir))
        let contents = Set(try FileManager.default.contentsOfDirectory(atPath: out))
        XCTAssertFalse(contents.contains("notes.txt"), "the old directory is replaced, not merged into")
        XCTAssertTrue(contents.isSuperset(of: ["config.json", "generation_config.json", "model.safetensors", "README.md"]), "\(contents)")
        XCTAssertEqual(try hiddenLeftovers(besides: out), [])
    }

    func testEmptyExistingDirectoryIsUsedWithoutForce() throws {
        let f = try ExportFixture("tiny-llama3")
        let out = try scratchDirectory(self) + "/empty"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        _ = try Exporter.export(ExportOptions(source: f.adapter, output: out, adapterOnly: true, baseModel: f.dir))
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/adapter_model.safetensors"))
    }

    func testFailedExportInstallsNothingAndKeepsTheOldDirectory() throws {
        // A base whose config cannot match the adapter's shapes fails after the output was prepared.
        let f = try ExportFixture("tiny-llama3")
        let scratch = try scratchDirectory(self)
        let out = scratch + "/existing"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        try writeText("old", out + "/notes.txt")
        let badBase = scratch + "/bad-base"
        try FileManager.default.createDirectory(atPath: badBase, withIntermediateDirectories: true)
        try copyItem(f.dir + "/config.json", badBase + "/config.json")
        try writeText("not a safetensors file", badBase + "/model.safetensors")
        XCTAssertThrowsError(try Exporter.export(ExportOptions(source: f.adapter, output: out, force: true, baseModel: badBase)))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out), ["notes.txt"])
        XCTAssertEqual(try hiddenLeftovers(besides: out), [])
    }

    func testOutputThatIsAnInputIsRefused() throws {
        let f = try ExportFixture("tiny-llama3")
        let scratch = try scratchDirectory(self)
        let adapter = scratch + "/adapter"
        try copyItem(f.adapter, adapter)
        XCTAssertThrowsError(try Exporter.export(ExportOptions(source: adapter, output: scratch, force: true, baseModel: f.dir))) { error in
            guard case ExportError.badOutput = error else { return XCTFail("expected badOutput, got \(error)") }
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: adapter + "/adapter_model.safetensors"))
    }

    func testOutputThatIsAFileIsRefused() throws {
        let f = try ExportFixture("tiny-llama3")
        let out = try scratchDirectory(self) + "/file"
        try writeText("x", out)
        XCTAssertThrowsError(try Exporter.export(ExportOptions(source: f.adapter, output: out, force: true, baseModel: f.dir)))
        XCTAssertEqual(try String(contentsOfFile: out, encoding: .utf8), "x")
    }

    func testPartialFolderOfAKilledExportIsCleanedUp() throws {
        let f = try ExportFixture("tiny-llama3")
        let scratch = try scratchDirectory(self)
        let dead = scratch + "/.out.partial-\(Int32.max)-1"          // no such process
        let alive = scratch + "/.out.partial-\(getpid())-1"          // this process: an export in progress
        for dir in [dead, alive] { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        _ = try Exporter.export(ExportOptions(source: f.adapter, output: scratch + "/out", adapterOnly: true, baseModel: f.dir))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dead))
        XCTAssertTrue(FileManager.default.fileExists(atPath: alive))
    }

    /// A kill inside `install` leaves the old export set aside as `.NAME.replaced-PID-*`: after the new
    /// one was renamed into place it is garbage; before, it is the only copy and goes back under NAME.
    func testReplacedFolderOfAKilledExportIsRemovedOrRestored() throws {
        let f = try ExportFixture("tiny-llama3")
        let fm = FileManager.default
        let scratch = try scratchDirectory(self)
        // Killed after the swap: out exists, the set-aside old export is left over.
        let stale = scratch + "/.out.replaced-\(Int32.max)-1"
        try fm.createDirectory(atPath: stale, withIntermediateDirectories: true)
        try fm.createDirectory(atPath: scratch + "/out", withIntermediateDirectories: true)
        _ = try Exporter.export(ExportOptions(source: f.adapter, output: scratch + "/out", adapterOnly: true, force: true, baseModel: f.dir))
        XCTAssertFalse(fm.fileExists(atPath: stale), "a dead export's replaced folder is removed")
        XCTAssertEqual(try hiddenLeftovers(besides: scratch + "/out"), [])
        // Killed between the renames: only the set-aside copy exists; it is restored, and (no --force) kept.
        let only = scratch + "/.other.replaced-\(Int32.max)-2"
        try fm.createDirectory(atPath: only, withIntermediateDirectories: true)
        try writeText("old export", only + "/config.json")
        XCTAssertThrowsError(try Exporter.export(ExportOptions(source: f.adapter, output: scratch + "/other", adapterOnly: true, baseModel: f.dir)))
        XCTAssertEqual(try String(contentsOfFile: scratch + "/other/config.json", encoding: .utf8), "old export")
        XCTAssertFalse(fm.fileExists(atPath: only))
    }

    /// Hidden `.NAME.partial-*` / `.NAME.replaced-*` folders beside `path`.
    private func hiddenLeftovers(besides path: String) throws -> [String] {
        let parent = (path as NSString).deletingLastPathComponent, name = (path as NSString).lastPathComponent
        return try FileManager.default.contentsOfDirectory(atPath: parent).filter { $0.hasPrefix(".\(name).") }
    }
}
