import ChatData
import Foundation
import Tensors
import Tokenizer
@testable import Training
import XCTest

final class SpecialRowWarningTests: XCTestCase {
    func testZeroRowsOfTemplateTokensAreFlagged() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let tokenizer = try Tokenizer.load(path: root + "/checkpoints/tiny-base")
        let table = Tensor(uninitialized: [tokenizer.vocabularySize, 8])
        for i in 0..<table.count { table[i] = Float((i * 7919) % 13) - 6 + 0.5 }
        XCTAssertEqual(Trainer.untrainedSpecialRows(FrozenWeight(table), tokenizer: tokenizer, template: .llama3), [])
        let eot = try XCTUnwrap(tokenizer.specialTokenID("<|eot_id|>"))
        for c in 0..<8 { table[eot * 8 + c] = 0 }
        let warnings = Trainer.untrainedSpecialRows(FrozenWeight(table), tokenizer: tokenizer, template: .llama3)
        XCTAssertEqual(warnings.count, 1)
        XCTAssertTrue(warnings[0].contains("<|eot_id|>"))
    }
}
