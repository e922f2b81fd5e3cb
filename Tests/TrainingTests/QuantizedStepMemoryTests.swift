import Llama
import Training
import XCTest

/// The step memory estimate counts a quantized base (GGUF, the bench's `-q4k` shapes) at its encoded
/// size, not at 2 bytes per parameter.
final class QuantizedStepMemoryTests: XCTestCase {
    /// ggml block sizes: Q4_K 144 bytes per 256 values, Q5_0 22 bytes per 32.
    func testRandomQ4KBytesCountTheBlocks() throws {
        let smol = try XCTUnwrap(StepBenchmark.shapes["smollm2-135m"])
        // 576-wide rows are not whole Q4_K blocks: Q5_0, 18 blocks of 22 bytes; 1536-wide rows 6 Q4_K blocks.
        let q5Row = 576 / 32 * 22, q4Row = 1536 / 256 * 144
        let perLayer = (576 + 192 + 192 + 576 + 1536 + 1536) * q5Row + 576 * q4Row
        let expected = 49152 * q5Row + 30 * perLayer + 61 * 576 * 4   // tied embedding, fp32 norms
        XCTAssertEqual(LlamaWeights.randomQ4KBytes(config: smol), expected)

        let big = try XCTUnwrap(StepBenchmark.shapes["llama3-8b"])
        let row4096 = 4096 / 256 * 144, row14336 = 14336 / 256 * 144
        let layer = (4096 + 1024 + 1024 + 4096 + 14336 + 14336) * row4096 + 4096 * row14336
        XCTAssertEqual(LlamaWeights.randomQ4KBytes(config: big), 2 * 128256 * row4096 + 32 * layer + 65 * 4096 * 4)
    }

    func testEncodedBaseReplacesTwoBytesPerParameter() throws {
        let big = try XCTUnwrap(StepBenchmark.shapes["llama3-8b"])
        let encoded = LlamaWeights.randomQ4KBytes(config: big)
        let q4k = StepMemory(config: big, weightsInFloat32: false, encodedWeightBytes: encoded, rank: 16, targets: Projection.allCases,
                             rows: 1, rowLength: 512, longestSequence: 512, threads: 2, checkpointing: true)
        let bf16 = StepMemory(config: big, weightsInFloat32: false, rank: 16, targets: Projection.allCases, rows: 1, rowLength: 512, longestSequence: 512, threads: 2, checkpointing: true)
        // Encoded bytes plus the fp32 LM head while it is widened for use.
        XCTAssertEqual(q4k.weightBytes, encoded + 128256 * 4096 * 4)
        XCTAssertLessThan(q4k.weightBytes, bf16.weightBytes)
        XCTAssertLessThan(q4k.totalBytes, 12 << 30, "8B at seq 512 with checkpointing must fit in 12 GiB")
        // An fp32 cache (a small GGUF base is dequantized once at load) is counted as fp32 whatever the file.
        let cached = StepMemory(config: big, weightsInFloat32: true, encodedWeightBytes: encoded, rank: 16, targets: Projection.allCases,
                                rows: 1, rowLength: 512, longestSequence: 512, threads: 2, checkpointing: true)
        XCTAssertEqual(cached.weightBytes, big.parameterCount * 4)
    }
}
