import Distributed
import Foundation
@testable import Training
import XCTest

/// Rank 0 of a pretend two-rank job whose other rank mirrors it exactly, unless told to report
/// another parameter hash: enough to drive the checks that compare ranks without MPI.
final class MirrorWorld: Communicator {
    var rank: Int { 0 }
    var size: Int { 2 }
    var otherRanksHash: String?
    var statistics = CommunicationStatistics()
    func accumulate(_ buffer: UnsafePointer<Float>, count: Int, contributors: Int, first: Bool) throws {}
    func collectSum(into buffer: UnsafeMutablePointer<Float>, count: Int) throws {}
    func sum(_ values: inout [Double]) throws {}
    func gather(_ bytes: [UInt8]) throws -> [[UInt8]] { [bytes, otherRanksHash.map { Array($0.utf8) } ?? bytes] }
    func broadcast(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws {}
    func broadcast(_ bytes: [UInt8]) throws -> [UInt8] { bytes }
    func abort(code: Int32) -> Never { fatalError("abort \(code)") }
    func finish() {}
}

final class RankAgreementTests: XCTestCase {
    /// Ranks whose adapters or AdamW moments hash differently at a checkpoint stop the job with an
    /// error naming the rank, and nothing is written.
    func testDivergedRankStopsBeforeTheCheckpoint() throws {
        let dir = scratchDirectory(self, "diverged")
        let data = try syntheticDataset(in: dir, count: 10)
        let recipe = try writeRecipe(try tinyRecipe(data: data, output: dir + "/out"), to: dir + "/recipe.json")
        let world = MirrorWorld()
        var options = quietOptions()
        options.world = world
        let trainer = try Trainer(recipe: recipe, options: options)  // start-up checks pass: the mirror agrees
        try trainer.checkRanksAgree(what: "test")
        world.otherRanksHash = "0123456789abcdef"
        XCTAssertThrowsError(try trainer.saveCheckpoint()) { error in
            let text = (error as? TrainingError)?.message ?? "\(error)"
            XCTAssertTrue(text.contains("rank 1 has 0123456789abcdef"), text)
            XCTAssertTrue(text.contains("rank 0 has \(trainer.parameterHash())"), text)
            XCTAssertTrue(text.contains("No checkpoint was written"), text)
            XCTAssertEqual((error as? TrainingError)?.everyRankKnows, true)
        }
        XCTAssertNil(Checkpoints.latest(dir + "/out"))
    }

    /// The hash sees a change of one bit in a moment, not only in the adapters.
    func testParameterHashCoversTheMoments() throws {
        let dir = scratchDirectory(self, "hash")
        let data = try syntheticDataset(in: dir, count: 10)
        let trainer = try Trainer(recipe: try writeRecipe(try tinyRecipe(data: data, output: dir + "/out"), to: dir + "/recipe.json"), options: quietOptions())
        let before = trainer.parameterHash()
        trainer.optimizer.v[3].data[0] = Float(bitPattern: trainer.optimizer.v[3].data[0].bitPattern ^ 1)
        XCTAssertNotEqual(trainer.parameterHash(), before)
    }
}
