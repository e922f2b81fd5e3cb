import Foundation
import Tensors
@testable import Training
import XCTest

/// Training with more than one thread (split GEMMs, parallel attention units, parallel element-wise
/// loops) is bit-reproducible for a fixed thread count: the premise of exact resume on a multi-core
/// machine.
final class ThreadedTrainingTests: XCTestCase {
    func testTwoRunsWithTwoThreadsGiveTheSameBits() throws {
        let dir = scratchDirectory(self, "threads")
        let data = try syntheticDataset(in: dir, count: 8, lengths: 40...60)
        var trainers: [Trainer] = []
        for name in ["a", "b"] {
            var object = try tinyRecipe(data: data, output: dir + "/" + name)
            setKey(&object, "train.threads", 2)
            setKey(&object, "train.max_steps", 3)
            setKey(&object, "lora.dropout", 0.1)
            let trainer = try Trainer(recipe: try writeRecipe(object, to: dir + "/\(name).json"), options: quietOptions())
            XCTAssertEqual(Threads.count, 2)
            _ = try trainer.run()
            trainers.append(trainer)
        }
        for ((name, x), (_, y)) in zip(trainers[0].adapters.namedParameters, trainers[1].adapters.namedParameters) {
            assertBitIdentical(x.value.array, y.value.array, name)
        }
        for i in trainers[0].optimizer.m.indices {
            assertBitIdentical(trainers[0].optimizer.m[i].array, trainers[1].optimizer.m[i].array, "m[\(i)]")
        }
    }
}
