import Autodiff
import Foundation
import Tensors
import XCTest

final class CrossEntropyGradientTests: XCTestCase {
    func testGradientOnPositionSubset() {
        let h = leaf([6, 5], seed: 100)
        let w = FrozenWeight(randomTensor([11, 5], seed: 101, scale: 2))
        // Positions 1, 3, 4 only, with a chunk of 2 so chunking is exercised.
        assertGradients(GradCheck.check([("h", h)]) {
            $0.lmHeadCrossEntropy(h, weight: w, positions: [1, 3, 4], targets: [7, 0, 10], chunk: 2)
        })
    }

    func testRecomputedSoftmaxPathGivesTheSameGradient() {
        let h = leaf([6, 5], seed: 106)
        let w = FrozenWeight(randomTensor([11, 5], seed: 107, scale: 2))
        func grad() -> [Float] {
            h.zeroGrad()
            let tape = Tape()
            tape.backward(from: tape.lmHeadCrossEntropy(h, weight: w, positions: [0, 2, 5], targets: [3, 9, 1], chunk: 2), seedScale: 0.5)
            return h.grad!.array
        }
        let kept = grad()
        let saved = Tape.keptSoftmaxBudgetBytes
        Tape.keptSoftmaxBudgetBytes = 0
        defer { Tape.keptSoftmaxBudgetBytes = saved }
        let recomputed = grad()
        for (a, b) in zip(kept, recomputed) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        assertGradients(GradCheck.check([("h", h)]) {
            $0.lmHeadCrossEntropy(h, weight: w, positions: [1, 4], targets: [0, 10], chunk: 1)
        })
    }

    func testValueMatchesNaiveLogSoftmax() {
        let h = randomTensor([4, 5], seed: 102)
        let wt = randomTensor([9, 5], seed: 103, scale: 2)
        let positions = [0, 2, 3], targets = [4, 8, 0]
        let y = Tape().lmHeadCrossEntropy(Variable(h), weight: FrozenWeight(wt), positions: positions, targets: targets)
        var expected = 0.0
        for (p, t) in zip(positions, targets) {
            var z = [Double](repeating: 0, count: 9)
            for v in 0..<9 { for c in 0..<5 { z[v] += Double(h[p * 5 + c]) * Double(wt[v * 5 + c]) } }
            let m = z.max()!
            let lse = m + Foundation.log(z.map { Foundation.exp($0 - m) }.reduce(0, +))
            expected += lse - z[t]
        }
        XCTAssertEqual(Double(y.value[0]), expected, accuracy: 1e-5 * max(1, expected))
    }

    func testUntrainedRowsGetZeroGradient() {
        let h = leaf([4, 3], seed: 104)
        let tape = Tape()
        let loss = tape.lmHeadCrossEntropy(h, weight: FrozenWeight(randomTensor([5, 3], seed: 105)), positions: [2], targets: [1])
        tape.backward(from: loss)
        for r in [0, 1, 3] { for c in 0..<3 { XCTAssertEqual(h.grad![r * 3 + c], 0) } }
        XCTAssertNotEqual(h.grad![2 * 3], 0)
    }
}
