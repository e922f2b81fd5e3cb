import Llama
import Tensors
@testable import Training
import XCTest

/// The step-memory estimate in precision bf16 counts what stays resident: one packed bf16 copy of the
/// projections and the LM head, one backward-panel scratch the size of the largest of them (except on
/// AMX, whose kernel needs none), and an untied embedding as stored — no fp32 cache, no second packed layout.
final class StepMemoryPrecisionTests: XCTestCase {
    func testBF16WeightsOfLlama3_8BAreCountedFromTheArchitecture() {
        let c = StepBenchmark.shapes["llama3-8b"]!
        let fp32 = StepMemory(config: c, weightsInFloat32: false, rank: 8, targets: Projection.allCases, rows: 1, rowLength: 512,
                              longestSequence: 512, threads: 2, checkpointing: true)
        let bf16 = StepMemory(config: c, weightsInFloat32: false, rank: 8, targets: Projection.allCases, rows: 1, rowLength: 512,
                              longestSequence: 512, threads: 2, checkpointing: true,
                              precision: .bf16)
        // Per layer: q, k, v (4096 + 2·1024 rows), o, gate and up (2·14336 rows), down; 4096 columns but down's 14336.
        let projections = 32 * ((4096 + 2 * 1024) * 4096 + 4096 * 4096 + 2 * 14336 * 4096 + 4096 * 14336)
        let head = 128256 * 4096  // the LM head, also the largest weight (the scratch), and the untied embedding
        let norms = 4 * (32 * 2 * 4096 + 4096)
        let scratch = BF16Kernel.best == .amx ? 0 : head
        XCTAssertEqual(bf16.weightBytes, 2 * (projections + head) + 2 * scratch + 2 * head + norms)
        XCTAssertEqual(bf16.adapterBytes, fp32.adapterBytes)
        XCTAssertEqual(bf16.activationBytes, fp32.activationBytes)
        XCTAssertLessThan(bf16.totalBytes, 22 << 30, "the 8B bf16 step must fit 22 GiB")
    }

    func testATiedEmbeddingIsTheLMHeadsPanels() {
        let c = StepBenchmark.shapes["smollm2-135m"]!
        XCTAssertTrue(c.tieWordEmbeddings)
        let bf16 = StepMemory(config: c, weightsInFloat32: true, rank: 8, targets: Projection.allCases, rows: 1, rowLength: 512,
                              longestSequence: 512, threads: 2, checkpointing: false,
                              precision: .bf16)
        let d = 576, i = 1536, head = 49152 * d
        let projections = 30 * ((d + 2 * 192) * d + d * d + 2 * i * d + i * d)
        let scratch = BF16Kernel.best == .amx ? 0 : head
        XCTAssertEqual(bf16.weightBytes, 2 * (projections + head) + 2 * scratch + 4 * (30 * 2 * d + d))
    }

    /// The rebuild scratch (the largest weight's panels, here SmolLM2's tied LM head) is counted for the
    /// kernels that rebuild `dY·W` panels and not for AMX, whichever CPU runs the test.
    func testOnlyKernelsThatRebuildBackwardPanelsCountTheScratch() {
        let c = StepBenchmark.shapes["smollm2-135m"]!
        let head = 49152 * 576
        XCTAssertEqual(StepMemory.bf16WeightBytes(c, kernel: .avx512bf16) - StepMemory.bf16WeightBytes(c, kernel: .amx), 2 * head)
        XCTAssertEqual(StepMemory.bf16WeightBytes(c, kernel: .portable), StepMemory.bf16WeightBytes(c, kernel: .avx512bf16))
    }
}
