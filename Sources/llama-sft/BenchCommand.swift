import Foundation
import Tensors
import Training

/// `llama-sft bench kernels | <shape> [...]`.
enum BenchCommand {
    static let usage = """
    usage: llama-sft bench kernels [--threads N] [--repeats N]
           llama-sft bench SHAPE [--seq 512] [--batch 1] [--trained-fraction 0.5] [--steps 4] [--warmup 1]
                                 [--rank 8] [--threads N] [--gc] [--bf16 | --fp32] [--json]
                                 [--precision fp32|bf16|auto] [--profile]
    SHAPE: \(StepBenchmark.shapeNames.joined(separator: ", "))
      (random weights; llama3-8b uses a bf16 base; -q4k: a Q4_K base, as a GGUF Q4_K_M file, dequantized per use)

    Times full LoRA training steps (forward, backward, clipping, AdamW; r=8, alpha 16, all 7 projections)
    and prints tokens/s, peak RSS, achieved GFLOP/s and its share of this machine's measured sgemm peak.
    --bf16/--fp32 choose how the random base weights are stored; --precision how the frozen-base products
    are computed (default fp32; see docs/precision.md). The CPU, its features and OpenBLAS's kernels are
    printed with the result. --profile adds the share of step time per kind of work. Compare with PyTorch on the same shape, side by side (README "Speed").
    """

    static func run(_ args: [String]) throws -> Int32 {
        let a = try Arguments(args, valued: ["threads", "repeats", "precision", "seq", "batch", "trained-fraction", "steps", "warmup", "rank"],
                              switches: ["gc", "bf16", "fp32", "json", "profile"])
        guard let what = a.positionals.first else { throw UsageError("what to benchmark?\n\(usage)") }
        let threads = try a.value("threads").map { v -> Int in
            guard let n = Int(v), n > 0 else { throw UsageError("--threads expects a positive integer") }
            return n
        }
        if what == "kernels" {
            KernelBench.run(threads: threads, repeats: try a.int("repeats", default: 5, in: 1...1000))
            return 0
        }
        guard StepBenchmark.shapeNames.contains(what) else { throw UsageError("unknown benchmark '\(what)'\n\(usage)") }
        var o = StepBenchmark.Options()
        o.shape = what
        // Bounds keep seq × batch × hidden far from overflow; StepBenchmark then checks memory.
        o.seq = try a.int("seq", default: 512, in: 2...1 << 20)
        o.batch = try a.int("batch", default: 1, in: 1...1 << 12)
        o.trainedFraction = try a.double("trained-fraction", default: 0.5)
        o.steps = try a.int("steps", default: 4, in: 1...1 << 20)
        o.warmup = try a.int("warmup", default: 1, in: 0...1 << 20)
        o.rank = try a.int("rank", default: 8, in: 1...1 << 16)
        o.alpha = Double(2 * o.rank)
        o.threads = threads
        o.gradientCheckpointing = a.flag("gc")
        o.profile = a.flag("profile")
        if a.flag("bf16") { o.bf16 = true }
        if a.flag("fp32") { o.bf16 = false }
        if let p = a.value("precision") {
            guard let precision = Precision(rawValue: p) else {
                throw UsageError("--precision expects fp32, bf16 or auto, got '\(p)'")
            }
            o.precision = precision
        }
        guard o.seq >= 2, o.batch >= 1, o.steps >= 1, o.trainedFraction > 0, o.trainedFraction <= 1 else {
            throw UsageError("need --seq ≥ 2, --batch ≥ 1, --steps ≥ 1 and 0 < --trained-fraction ≤ 1")
        }
        let json = a.flag("json")
        let r = try StepBenchmark.run(o) { if !json { print($0) } }
        if json {
            let data = try JSONSerialization.data(withJSONObject: r.json, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(String(format: "\n%@: %.1f tokens/s, peak RSS %.0f MiB, %.1f GFLOP/s = %.0f %% of measured sgemm peak (%.0f GFLOP/s), %d threads, precision %@",
                         r.shape, r.tokensPerSecond, r.peakRSSMiB, r.gflops, r.sgemmShare * 100, r.sgemmPeakGflops, r.threads, r.precision as NSString))
            print("cpu: \(CPUInfo.current.summary)")
            if !r.profile.isEmpty {
                print("\nshare of step time (timed steps):")
                for (kind, share) in r.profile { print(String(format: "  %5.1f %%  %@", share * 100, kind as NSString)) }
            }
        }
        return 0
    }
}
