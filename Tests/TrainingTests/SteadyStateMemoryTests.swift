import Foundation
import Tensors
import Training
import XCTest

/// After the first steps have filled the buffer pool, a training step asks the system for no new tensor
/// memory (the same micro-batch every step here, so the shapes repeat exactly).
final class SteadyStateMemoryTests: XCTestCase {
    func testStepsAfterWarmUpAllocateNoNewTensorMemory() throws {
        let dir = scratchDirectory(self, "steady")
        let data = try tokenizedDataset(fixture: "tiny-llama32", in: dir)
        let recipe = try makeRecipe(["model": try goldenDir("tiny-llama32"),
                                     "data": ["train": data, "format": "tokenized", "shuffle": false],
                                     "lora": ["rank": 4, "alpha": 8, "dropout": 0.1],
                                     "train": ["batch_size": 2, "max_steps": 6, "threads": 2],
                                     "checkpoint": ["every_steps": 0], "output_dir": dir + "/out"], in: dir)
        var allocations: [Int] = []
        var options = quietOptions()
        options.afterStep = { _ in allocations.append(BufferPool.shared.systemAllocations) }
        _ = try Trainer(recipe: recipe, options: options).run()
        XCTAssertEqual(allocations.count, 6)
        // Steps 3…6 (after two warm-up steps) take every buffer from the pool.
        XCTAssertEqual(allocations[5] - allocations[1], 0, "new system allocations per step: \(zip(allocations.dropFirst(), allocations).map { $0 - $1 })")
    }
}
