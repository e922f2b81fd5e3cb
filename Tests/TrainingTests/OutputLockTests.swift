import Foundation
@testable import Training
import XCTest

final class OutputLockTests: XCTestCase {
    func testASecondTrainerOnTheSameOutputDirIsRefused() throws {
        let dir = scratchDirectory(self, "lock")
        var held: OutputLock? = try OutputLock(directory: dir)
        XCTAssertThrowsError(try OutputLock(directory: dir)) { error in
            XCTAssertTrue(error.localizedDescription.contains("in use by another"), error.localizedDescription)
        }
        // A trainer refuses before touching anything in the folder.
        let data = try tokenizedDataset(fixture: "tiny-llama3", in: dir)
        let recipe = try makeRecipe(["model": try goldenDir("tiny-llama3"), "data": ["train": data, "format": "tokenized"],
                                     "train": ["max_steps": 1], "output_dir": dir], in: dir)
        XCTAssertThrowsError(try Trainer(recipe: recipe, options: quietOptions()))
        XCTAssertNotNil(held)
        held = nil
        // Once released, the same folder trains.
        XCTAssertNoThrow(try OutputLock(directory: dir))
    }

    /// The lock is taken before the first change to the folder (including a --restart's move) and held
    /// until `run()` returns, so no second process can clean, move or write into it in between.
    func testTheLockIsHeldFromSetUpUntilTheRunEnds() throws {
        let dir = scratchDirectory(self, "lock-held")
        let data = try tokenizedDataset(fixture: "tiny-llama3", in: dir)
        let out = dir + "/out"
        let recipe = try makeRecipe(["model": try goldenDir("tiny-llama3"), "data": ["train": data, "format": "tokenized"],
                                     "train": ["max_steps": 1], "output_dir": out], in: dir)
        for restart in [false, true] {
            var options = quietOptions()
            options.restart = restart
            var sawLockDuringRun = false
            options.afterStep = { _ in sawLockDuringRun = (try? OutputLock(directory: out)) == nil }
            let trainer = try Trainer(recipe: recipe, options: options)
            XCTAssertThrowsError(try OutputLock(directory: out), "restart \(restart): locked between set-up and run")
            _ = try trainer.run()
            XCTAssertTrue(sawLockDuringRun, "restart \(restart): locked during the run")
            XCTAssertNoThrow(try OutputLock(directory: out), "restart \(restart): released when run() returns")
        }
    }
}
