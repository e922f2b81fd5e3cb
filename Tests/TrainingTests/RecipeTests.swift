import Foundation
import Training
import XCTest

/// Recipe validation: every mistake is an error naming the file and the dotted key, with what was
/// expected (and a "did you mean" for typos); paths are resolved; the resolved recipe round-trips.
final class RecipeTests: XCTestCase {
    let file = "/recipes/run.json"
    let minimal: [String: Any] = ["model": "/models/m", "data": ["train": "/data/train.jsonl"], "output_dir": "/runs/out"]

    func parse(_ object: [String: Any], base: String = "/work") throws -> Recipe {
        try Recipe.parse(try JSONSerialization.data(withJSONObject: object), file: file, baseDirectory: base)
    }

    /// Asserts that `edit` applied to the minimal recipe fails on `key` with a message containing `fragments`.
    func assertError(_ key: String, _ fragments: [String], file f: StaticString = #filePath, line: UInt = #line,
                     _ edit: (inout [String: Any]) -> Void) {
        var object = minimal
        edit(&object)
        XCTAssertThrowsError(try parse(object), file: f, line: line) { error in
            guard let e = error as? RecipeError else { return XCTFail("\(error)", file: f, line: line) }
            XCTAssertEqual(e.key, key, file: f, line: line)
            let text = e.localizedDescription
            XCTAssertTrue(text.hasPrefix("\(file): \"\(key)\": "), text, file: f, line: line)
            for fragment in fragments { XCTAssertTrue(text.contains(fragment), "missing \"\(fragment)\" in: \(text)", file: f, line: line) }
        }
    }

    func testUnknownKeysSuggestTheClosestOne() {
        assertError("optimiser", ["is not a recipe key", "did you mean \"optimizer\"", "known keys here:"]) { $0["optimiser"] = ["lr": 1e-4] }
        assertError("lora.rnak", ["did you mean \"lora.rank\""]) { setKey(&$0, "lora.rnak", 8) }
        assertError("train.grad_acum", ["did you mean \"train.grad_accum\""]) { setKey(&$0, "train.grad_acum", 2) }
        assertError("data.max_seq_length", ["did you mean \"data.max_seq_len\""]) { setKey(&$0, "data.max_seq_length", 512) }
        // Nothing close: no hint, but the known keys are listed.
        assertError("train.learning_rate", ["is not a recipe key; known keys here: epochs, max_steps"]) { setKey(&$0, "train.learning_rate", 1e-4) }
    }

    func testWrongTypes() {
        assertError("lora.rank", ["expected an integer, found \"8\""]) { setKey(&$0, "lora.rank", "8") }
        assertError("train.epochs", ["expected an integer, found 1.5"]) { setKey(&$0, "train.epochs", 1.5) }
        assertError("train.batch_size", ["expected an integer, found true"]) { setKey(&$0, "train.batch_size", true) }
        assertError("data.packing", ["expected true or false, found \"yes\""]) { setKey(&$0, "data.packing", "yes") }
        assertError("data.packing", ["expected true or false, found 1"]) { setKey(&$0, "data.packing", 1) }
        assertError("optimizer.lr", ["expected a number, found \"2e-4\""]) { setKey(&$0, "optimizer.lr", "2e-4") }
        assertError("lora.targets", ["expected a list of strings"]) { setKey(&$0, "lora.targets", "q_proj") }
        assertError("optimizer.betas", ["expected a list of numbers"]) { setKey(&$0, "optimizer.betas", ["0.9", "0.99"]) }
        assertError("lora", ["expected an object {…}, found a list"]) { $0["lora"] = [8] }
        assertError("model", ["expected a string, found 3"]) { $0["model"] = 3 }
    }

    func testRanges() {
        assertError("lora.dropout", ["must be in [0.0, 0.95], found 1.5"]) { setKey(&$0, "lora.dropout", 1.5) }
        assertError("lora.rank", ["must be ≥ 1, found 0"]) { setKey(&$0, "lora.rank", 0) }
        assertError("train.batch_size", ["must be ≥ 1, found -2"]) { setKey(&$0, "train.batch_size", -2) }
        assertError("train.max_steps", ["must be ≥ 1"]) { setKey(&$0, "train.max_steps", 0) }
        assertError("data.max_seq_len", ["must be ≥ 2"]) { setKey(&$0, "data.max_seq_len", 1) }
        assertError("optimizer.lr", ["must be in [0.0, 10.0]"]) { setKey(&$0, "optimizer.lr", 100) }
        assertError("schedule.warmup_ratio", ["must be in [0.0, 1.0]"]) { setKey(&$0, "schedule.warmup_ratio", 1.5) }
        assertError("checkpoint.keep_last", ["must be ≥ 1"]) { setKey(&$0, "checkpoint.keep_last", 0) }
        assertError("optimizer.betas", ["expected two numbers in [0, 1)"]) { setKey(&$0, "optimizer.betas", [0.9, 1.0]) }
        assertError("optimizer.betas", ["expected two numbers in [0, 1)"]) { setKey(&$0, "optimizer.betas", [0.9]) }
    }

    func testChoicesSuggestTheClosestValue() {
        assertError("schedule.type", ["\"cosin\" is not one of \"constant\", \"linear\", \"cosine\"", "did you mean \"cosine\""]) { setKey(&$0, "schedule.type", "cosin") }
        assertError("data.template", ["did you mean \"llama3\""]) { setKey(&$0, "data.template", "llama-3") }
        assertError("lora.targets", ["\"q_prj\" is not a projection (did you mean \"q_proj\"?)", "choose from q_proj"]) { setKey(&$0, "lora.targets", ["q_prj"]) }
        assertError("lora.targets", ["needs at least one projection"]) { setKey(&$0, "lora.targets", [String]()) }
        assertError("train.precision", ["\"bf61\" is not one of \"fp32\", \"bf16\", \"auto\"", "did you mean \"bf16\""]) { setKey(&$0, "train.precision", "bf61") }
    }

    func testRequiredKeysAndConflicts() {
        assertError("model", ["is required"]) { $0["model"] = nil }
        assertError("output_dir", ["is required"]) { $0["output_dir"] = nil }
        assertError("data.train", ["is required"]) { $0["data"] = ["eval": "/e.jsonl"] }
        assertError("data.eval_fraction", ["not both"]) { setKey(&$0, "data.eval", "/e.jsonl"); setKey(&$0, "data.eval_fraction", 0.1) }
    }

    func testNotJSONOrNotAnObject() {
        XCTAssertThrowsError(try Recipe.parse(Data("{\"model\": ".utf8), file: file, baseDirectory: "/")) { error in
            XCTAssertTrue(error.localizedDescription.hasPrefix("\(file): is not valid JSON"), error.localizedDescription)
        }
        XCTAssertThrowsError(try Recipe.parse(Data("[1]".utf8), file: file, baseDirectory: "/")) { error in
            XCTAssertTrue(error.localizedDescription.contains("must be a JSON object"), error.localizedDescription)
        }
        XCTAssertThrowsError(try Recipe.load(path: "/nonexistent/recipe.json")) { error in
            XCTAssertTrue(error.localizedDescription.contains("/nonexistent/recipe.json: cannot read the recipe file"), error.localizedDescription)
        }
    }

    func testPathsAreResolvedAndStandardized() throws {
        var object = minimal
        object["model"] = "models/base"
        object["tokenizer"] = "../tok/"
        object["output_dir"] = "/runs/./exp/../out/"
        setKey(&object, "data.train", "data/train.jsonl")
        setKey(&object, "data.eval", "~/eval.jsonl")
        setKey(&object, "lora.init_from", "adapters/a")
        let r = try parse(object, base: "/home/u/project")
        XCTAssertEqual(r.model, "/home/u/project/models/base")
        XCTAssertEqual(r.tokenizer, "/home/u/tok")
        XCTAssertEqual(r.outputDir, "/runs/out", "absolute paths are standardized, no trailing slash")
        XCTAssertEqual(r.data.train, "/home/u/project/data/train.jsonl")
        XCTAssertEqual(r.data.eval, (NSHomeDirectory() as NSString).appendingPathComponent("eval.jsonl"))
        XCTAssertEqual(r.lora.initFrom, "/home/u/project/adapters/a")
    }

    /// The resolved recipe (defaults filled in) written beside checkpoints loads back to the same recipe.
    func testResolvedRecipeRoundTrips() throws {
        var object = minimal
        setKey(&object, "optimizer.max_grad_norm", NSNull())
        setKey(&object, "lora.dropout", 0.05)
        setKey(&object, "lora.targets", ["v_proj", "q_proj"])
        setKey(&object, "train.max_steps", 123)
        let r = try parse(object)
        XCTAssertNil(r.optimizer.maxGradNorm, "null turns clipping off")
        XCTAssertEqual(r.lora.targets.map(\.rawValue), ["q_proj", "v_proj"], "targets in model order")
        XCTAssertEqual(try parse(minimal).optimizer.maxGradNorm, 1.0, "absent: clip at 1.0")
        let again = try Recipe.parse(r.jsonData, file: "resolved.json", baseDirectory: "/elsewhere")
        XCTAssertEqual(again, r)
        XCTAssertEqual(again.mathFingerprint, r.mathFingerprint)
        XCTAssertEqual(again.mathChanges(since: r), [])
    }
}
