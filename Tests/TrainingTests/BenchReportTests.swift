import Tensors
import Training
import XCTest

/// `bench --json` says what ran (CPU, features, OpenBLAS kernels, precision); `--profile` splits the
/// step time by kind of work.
final class BenchReportTests: XCTestCase {
    func testJSONNamesTheMachineAndPrecisionAndProfileAddsUp() throws {
        var o = StepBenchmark.Options()
        o.shape = "tiny"
        o.seq = 32
        o.steps = 1
        o.warmup = 1
        o.precision = .bf16
        o.profile = true
        let r = try StepBenchmark.run(o) { _ in }
        let json = r.json
        XCTAssertEqual(json["precision"] as? String, "bf16")
        XCTAssertEqual(json["blas_core"] as? String, CPUInfo.current.blasCore)
        XCTAssertEqual(json["cpu_features"] as? [String], CPUInfo.current.featureNames)
        XCTAssertNotNil(json["cpu"] as? String)
        XCTAssertNotNil(try? JSONSerialization.data(withJSONObject: json))
        let shares = r.profile.map(\.share)
        XCTAssertEqual(shares.reduce(0, +), 1, accuracy: 1e-9)
        XCTAssertTrue(shares.allSatisfy { $0 >= 0 })
        XCTAssertGreaterThan(r.profile.first { $0.kind.hasPrefix("frozen GEMM forward") }!.share, 0)
        XCTAssertGreaterThan(r.profile.first { $0.kind.hasPrefix("LoRA") }!.share, 0)
        XCTAssertFalse(WorkProfile.enabled, "profiling stops with the benchmark")
    }
}
