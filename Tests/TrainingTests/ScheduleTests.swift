import Foundation
import Training
import XCTest

final class ScheduleTests: XCTestCase {
    func testWarmupStartsAtZero() {
        let s = LRSchedule(type: .cosine, totalSteps: 10, warmupSteps: 2, warmupRatio: 0, minLrRatio: 0)
        XCTAssertEqual(s.factor(step: 0), 0)
        XCTAssertEqual(s.factor(step: 1), 0.5)
        XCTAssertEqual(s.factor(step: 2), 1)
    }

    func testWarmupRatioRoundsUp() {
        XCTAssertEqual(LRSchedule(type: .linear, totalSteps: 10, warmupSteps: 0, warmupRatio: 0.15, minLrRatio: 0).warmupSteps, 2)
        XCTAssertEqual(LRSchedule(type: .linear, totalSteps: 10, warmupSteps: 3, warmupRatio: 0.5, minLrRatio: 0).warmupSteps, 3)
    }

    func testLinearEndsAtOneOverRemaining() {
        let s = LRSchedule(type: .linear, totalSteps: 10, warmupSteps: 2, warmupRatio: 0, minLrRatio: 0)
        XCTAssertEqual(s.factor(step: 9), 1.0 / 8, accuracy: 1e-12)
        XCTAssertEqual(s.factor(step: 5), 5.0 / 8, accuracy: 1e-12)
    }

    func testCosineAndMinimum() {
        let s = LRSchedule(type: .cosine, totalSteps: 11, warmupSteps: 1, warmupRatio: 0, minLrRatio: 0)
        XCTAssertEqual(s.factor(step: 6), 0.5, accuracy: 1e-12)  // q = 0.5
        let m = LRSchedule(type: .cosine, totalSteps: 11, warmupSteps: 1, warmupRatio: 0, minLrRatio: 0.1)
        XCTAssertEqual(m.factor(step: 6), 0.5 * 0.9 + 0.1, accuracy: 1e-12)
        XCTAssertEqual(m.factor(step: 11), 0.1, accuracy: 1e-12)
    }

    func testConstant() {
        let s = LRSchedule(type: .constant, totalSteps: 5, warmupSteps: 0, warmupRatio: 0, minLrRatio: 0)
        XCTAssertEqual((0..<5).map(s.factor), [1, 1, 1, 1, 1])
    }
}
