import Foundation
import SafeTensors
import Training
import XCTest

final class ModelFingerprintTests: XCTestCase {
    /// Resuming against other weights under the same model path is refused, naming the model.
    func testResumeRefusesAChangedBaseModel() throws {
        let dir = scratchDirectory(self, "model-fp")
        let model = dir + "/model"
        try FileManager.default.createDirectory(atPath: model, withIntermediateDirectories: true)
        let golden = try goldenDir("tiny-llama3")
        for f in ["config.json", "model.safetensors"] { try FileManager.default.copyItem(atPath: golden + "/" + f, toPath: model + "/" + f) }
        let data = try tokenizedDataset(fixture: "tiny-llama3", in: dir)
        let object: [String: Any] = ["model": model, "data": ["train": data, "format": "tokenized", "shuffle": false],
                                     "train": ["max_steps": 2, "threads": 1], "checkpoint": ["every_steps": 1], "output_dir": dir + "/out"]
        _ = try Trainer(recipe: try makeRecipe(object, in: dir), options: quietOptions()).run()

        // Same names and shapes, other values (every weight scaled by 1.01).
        let file = try SafeTensorsFile(path: model + "/model.safetensors")
        let changed = try file.names.map { (name: $0, shape: file.info($0)!.shape, data: try file.float32Array($0).map { $0 * 1.01 }) }
        try SafeTensorsWriter.write(float32: changed, to: model + "/model.safetensors")
        var longer = object
        longer["train"] = ["max_steps": 4, "threads": 1]
        XCTAssertThrowsError(try Trainer(recipe: try makeRecipe(longer, in: dir), options: quietOptions())) { error in
            XCTAssertTrue(error.localizedDescription.contains("base model"), error.localizedDescription)
        }
    }
}
