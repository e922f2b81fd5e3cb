@testable import Llama
import Tensors
import XCTest

/// The bench's random Q4_K base (Q5_0 where rows are not whole 256-element blocks) has the requested scale.
final class RandomQuantizedWeightsTests: XCTestCase {
    func testValuesHaveMeanZeroAndTheRequestedStd() {
        for columns in [512, 576] {  // Q4_K, and the Q5_0 fallback
            let w = LlamaWeights.randomQ4K(rows: 64, columns: columns, std: 0.05, seed: 9)
            guard case .encoded = w.storage else { return XCTFail("expected encoded storage") }
            let values = w.toTensor().array
            let mean = values.reduce(0, +) / Float(values.count)
            let std = (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Float(values.count)).squareRoot()
            XCTAssertLessThan(abs(mean), 0.005, "\(columns) columns: mean \(mean)")
            XCTAssertEqual(std, 0.05, accuracy: 0.005, "\(columns) columns")
            var row = [Float](repeating: 0, count: columns)
            row.withUnsafeMutableBufferPointer { w.copyRow(5, to: $0.baseAddress!) }
            XCTAssertEqual(row, Array(values[(5 * columns)..<(6 * columns)]))
        }
    }
}
