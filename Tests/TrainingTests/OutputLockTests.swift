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
}
