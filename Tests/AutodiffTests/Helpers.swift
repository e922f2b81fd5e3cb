import Autodiff
import Tensors
import XCTest

/// Deterministic pseudo-random tensors for the checks (values in [-scale, scale)).
func randomTensor(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
    let t = Tensor(uninitialized: shape)
    for i in 0..<t.count { t[i] = (DropoutMask.uniform(seed: seed, index: i) * 2 - 1) * scale }
    return t
}

func leaf(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Variable {
    Variable(randomTensor(shape, seed: seed, scale: scale), requiresGrad: true)
}

/// Asserts every checked gradient agrees with finite differences within `tolerance` (relative, by norm)
/// and is not trivially zero.
func assertGradients(_ results: [GradCheck.Result], tolerance: Double = 1e-3, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertFalse(results.isEmpty, file: file, line: line)
    for r in results {
        XCTAssertLessThanOrEqual(r.relativeError, tolerance, "\(r)", file: file, line: line)
        XCTAssertGreaterThan(r.gradientNorm, 1e-6, "\(r.name): gradient is zero, the check proves nothing", file: file, line: line)
    }
}
