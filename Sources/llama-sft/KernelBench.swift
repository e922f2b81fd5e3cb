import Autodiff
import Foundation
import Tensors

/// `llama-sft bench kernels`: GEMM GFLOP/s for the shapes a training step uses, and element-wise
/// kernel throughput. Best of several repetitions (the machine is shared and noisy).
enum KernelBench {
    static func run(threads: Int?, repeats: Int) {
        Threads.configure(threads)
        print("cpu: \(CPUInfo.current.summary); bf16 kernel \(BF16Kernel.best.rawValue)")
        print("threads: \(Threads.count)   (best of \(repeats) runs; GFLOP/s = 2·M·K·N / time)")
        print("GEMM  M     K     N     variant  GFLOP/s")
        // (M, K, N): the SmolLM2-135M projections and a Llama-3.2-1B-sized MLP at 512 tokens.
        let shapes = [(512, 576, 1536), (512, 1536, 576), (512, 2048, 8192), (512, 8192, 2048)]
        for (m, k, n) in shapes {
            // Forward x·Wᵀ (NT), input gradient dY·W (NN), LoRA weight gradient dYᵀ·H (TN).
            for (name, ta, tb) in [("NT x·Wᵀ", false, true), ("NN dY·W", false, false), ("TN Xᵀ·dY", true, false)] {
                let a = Tensor(shape: [m * k], repeating: 0.01), b = Tensor(shape: [k * n], repeating: 0.02)
                let c = Tensor(zeros: [m * n])
                let secs = best(repeats) {
                    sgemm(transA: ta, transB: tb, m: m, n: n, k: k, a.data, lda: ta ? m : k, b.data, ldb: tb ? k : n, c.data, ldc: n)
                }
                let gflops = 2.0 * Double(m * k * n) / secs / 1e9
                print(String(format: "      %-5d %-5d %-5d %-8@ %7.1f", m, k, n, name as NSString, gflops))
            }
            // The bf16 products (precision bf16) with every fast kernel this CPU runs: activations
            // converted and packed per call, W packed once (as training does).
            let w = FrozenWeight(Tensor(shape: [n, k], repeating: 0.02))
            let forward = BF16Panels.forward(w), backward = BF16Panels.backward(w)
            let x = Tensor(shape: [m * max(k, n)], repeating: 0.01), c = Tensor(zeros: [m * max(k, n)])
            for kernel in [BF16Kernel.amx, .avx512bf16] where kernel.isAvailable {
                for (name, isForward) in [("bf16 x·Wᵀ", true), ("bf16 dY·W", false)] {
                    let secs = best(repeats) {
                        if isForward { bf16gemm(m: m, x.data, lda: k, forward, accumulate: false, c.data, ldc: n, kernel: kernel) }
                        // AMX builds the dY·W panels from the forward panels inside the GEMM, as training does.
                        else if kernel == .amx { bf16gemmFromForward(m: m, x.data, lda: n, forward, accumulate: false, c.data, ldc: k) }
                        else { bf16gemm(m: m, x.data, lda: n, backward, accumulate: false, c.data, ldc: k, kernel: kernel) }
                    }
                    let gflops = 2.0 * Double(m * k * n) / secs / 1e9
                    print(String(format: "      %-5d %-5d %-5d %-8@ %7.1f  (%@%@)", m, k, n, name as NSString, gflops, kernel.rawValue as NSString,
                                 kernel == BF16Kernel.best ? ", the one training uses" : ""))
                }
            }
        }
        print("\nelement-wise (1M floats)       ns/element")
        let count = 1 << 20
        let x = Tensor(shape: [1024, 1024], repeating: 0.3), y = Tensor(shape: [1024, 1024], repeating: -0.2)
        let tape = Tape(recording: false)
        let vx = Variable(x), vy = Variable(y)
        let norm = Tensor(shape: [1024], repeating: 1)
        let cases: [(String, () -> Void)] = [
            ("swiglu forward", { _ = tape.swiglu(gate: vx, up: vy) }),
            ("rmsnorm forward (C=1024)", { _ = tape.rmsNorm(vx, weight: norm, eps: 1e-5) }),
            ("residual add", { _ = tape.add(vx, vy) }),
            ("exp (shifted, summed)", { _ = expShiftSum(x.data, count, shift: 1) }),
            ("bf16 -> f32", {
                let h = UnsafeMutablePointer<UInt16>.allocate(capacity: count); defer { h.deallocate() }
                convertBF16ToFloat(h, y.data, count: count)
            }),
        ]
        for (name, body) in cases {
            let secs = best(repeats, body)
            print(String(format: "  %-28@ %6.2f", name as NSString, secs / Double(count) * 1e9))
        }
    }

    /// Fastest of `n` timed runs after one warm-up, in seconds.
    static func best(_ n: Int, _ body: () -> Void) -> Double {
        body()
        var best = Double.infinity
        for _ in 0..<max(1, n) {
            let t0 = DispatchTime.now().uptimeNanoseconds
            body()
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        return best
    }
}
