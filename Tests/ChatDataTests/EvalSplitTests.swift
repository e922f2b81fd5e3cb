import XCTest
@testable import ChatData

final class EvalSplitTests: XCTestCase {
    let categories: [String?] = (0..<1000).map { i in i % 10 == 9 ? nil : ["Chat", "Coding", "Open QA"][i % 3] }

    func testDeterministicSizedAndDisjoint() {
        let a = evalSelection(categories: categories, fraction: 0.1, seed: 3)
        XCTAssertEqual(a, evalSelection(categories: categories, fraction: 0.1, seed: 3))
        XCTAssertEqual(a.count, categories.count, "one flag per record: train and eval are complements")
        XCTAssertEqual(a.filter { $0 }.count, 100)
        XCTAssertNotEqual(a, evalSelection(categories: categories, fraction: 0.1, seed: 4))
    }

    func testStratifiedByCategory() {
        let flags = evalSelection(categories: categories, fraction: 0.2, seed: 11)
        var total: [String: Int] = [:], chosen: [String: Int] = [:]
        for (category, flag) in zip(categories, flags) {
            total[category ?? "-", default: 0] += 1
            if flag { chosen[category ?? "-", default: 0] += 1 }
        }
        for (key, n) in total {
            XCTAssertEqual(Double(chosen[key] ?? 0), 0.2 * Double(n), accuracy: 1.0, key)
        }
    }

    func testEdgeCases() {
        XCTAssertEqual(evalSelection(categories: categories, fraction: 0, seed: 1).filter { $0 }.count, 0)
        XCTAssertEqual(evalSelection(categories: [nil, nil, nil], fraction: 0.01, seed: 1).filter { $0 }.count, 1,
                       "a positive fraction takes at least one record")
        XCTAssertEqual(evalSelection(categories: [nil, nil], fraction: 0.99, seed: 1).filter { $0 }.count, 1,
                       "and leaves at least one for training")
        XCTAssertEqual(evalSelection(categories: [nil], fraction: 0.5, seed: 1), [false])
    }
}
