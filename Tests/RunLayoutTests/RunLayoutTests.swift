import Foundation
import RunLayout
import XCTest

final class RunLayoutTests: XCTestCase {
    var run = ""

    override func setUpWithError() throws {
        run = NSTemporaryDirectory() + "runlayout-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: run + "/checkpoints", withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: run) }

    func makeCheckpoint(_ name: String, files: [String] = RunLayout.checkpointFiles) throws {
        let dir = run + "/checkpoints/" + name
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for f in files { XCTAssertTrue(FileManager.default.createFile(atPath: dir + "/" + f, contents: Data())) }
    }

    func testOnlyFoldersWithAllFiveFilesAreCompleteCheckpoints() throws {
        try makeCheckpoint("step-000001")
        try makeCheckpoint("step-000002", files: [RunLayout.adapterConfigFile, RunLayout.adapterWeightsFile])
        try makeCheckpoint("step-000003.old-123")
        try makeCheckpoint(".tmp-step-000004-9")
        XCTAssertEqual(RunLayout.completeCheckpoints(run).map { ($0 as NSString).lastPathComponent }, ["step-000001"])
        XCTAssertTrue(RunLayout.isAdapterDirectory(run + "/checkpoints/step-000002"))
        XCTAssertFalse(RunLayout.isCompleteCheckpoint(run + "/checkpoints/step-000002"))
    }

    func testLatestIsFollowedWhenCompleteElseTheHighestCompleteStep() throws {
        try makeCheckpoint("step-000001")
        try makeCheckpoint("step-000010")
        XCTAssertEqual(RunLayout.latestCompleteCheckpoint(run), run + "/checkpoints/step-000010")
        try "step-000001\n".write(toFile: run + "/checkpoints/latest", atomically: true, encoding: .utf8)
        XCTAssertEqual(RunLayout.latestCompleteCheckpoint(run), run + "/checkpoints/step-000001")
        try "step-000007\n".write(toFile: run + "/checkpoints/latest", atomically: true, encoding: .utf8)
        XCTAssertEqual(RunLayout.latestCompleteCheckpoint(run), run + "/checkpoints/step-000010")
        try "../x\n".write(toFile: run + "/checkpoints/latest", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try RunLayout.latestName(run))
    }

    func testCheckpointNamesSortByStep() {
        XCTAssertEqual(RunLayout.checkpointName(step: 42), "step-000042")
        XCTAssertEqual(RunLayout.step(ofCheckpointName: "step-000042"), 42)
        XCTAssertNil(RunLayout.step(ofCheckpointName: "step-000042.old-7"))
        XCTAssertLessThan(RunLayout.checkpointName(step: 9), RunLayout.checkpointName(step: 10))
    }

    func testMetricsLinesKeepStepLossAndEvalLossAndSkipBrokenLines() {
        let text = #"{"loss":2.5,"lr":0.001,"step":1}"# + "\n" + #"{"eval_loss":2.25,"step":1}"# + "\n" + #"{"loss":2.0,"st"# + "\n"
        let lines = MetricsRecord.lines(of: Data(text.utf8))
        XCTAssertEqual(lines.map(\.record), [MetricsRecord(step: 1, loss: 2.5), MetricsRecord(step: 1, evalLoss: 2.25)])
    }
}
