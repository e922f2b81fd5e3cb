import Autodiff
import Foundation
import Tensors

/// The LoRA rows of `bench kernels`: GFLOP/s of each of an adapter's six fp32 products (512 tokens,
/// rank 8) on the SmolLM2-135M and Llama-3.2-1B projection shapes, with every product kernel this CPU
/// runs (`openBLAS` in fp32 runs, `avx512` in bf16 runs).
enum LoRAKernelBench {
    static func run(repeats: Int) {
        let n = 512, r = 8
        print("\nLoRA products (N \(n), r \(r); GFLOP/s)")
        print("      in    out   products   x·Aᵀ   Hr·Bᵀ     dB    dY·B     dA     dX   all six")
        var kinds: [(String, FP32Products)] = [("openBLAS", .openBLAS)]
        if CPUInfo.current.avx512f { kinds.append(("avx512", .avx512)) }
        for (inF, out) in [(576, 576), (576, 192), (576, 1536), (1536, 576), (2048, 2048), (2048, 512), (2048, 8192), (8192, 2048)] {
            let x = Tensor(shape: [n, inF], repeating: 0.01), dx = Tensor(zeros: [n, inF])
            let a = Tensor(shape: [r, inF], repeating: 0.03), da = Tensor(zeros: [r, inF])
            let b = Tensor(shape: [out, r], repeating: 0.04), db = Tensor(zeros: [out, r])
            let y = Tensor(zeros: [n, out]), dy = Tensor(shape: [n, out], repeating: 0.05)
            let hr = Tensor(zeros: [n, r]), dhr = Tensor(zeros: [n, r])
            for (name, kind) in kinds {
                let lora = LoRAProducts(kind)
                if name == "avx512" {
                    // The same six products through the generic `FP32Products.gemm` (B transposed per call), for comparison.
                    let g = FP32Products.avx512
                    let generic: [() -> Void] = [
                        { g.gemm(transA: false, transB: true, m: n, n: r, k: inF, x.data, lda: inF, a.data, ldb: inF, hr.data, ldc: r) },
                        { g.gemm(transA: false, transB: true, m: n, n: out, k: r, alpha: 2, hr.data, lda: r, b.data, ldb: r, beta: 1, y.data, ldc: out) },
                        { g.gemm(transA: true, transB: false, m: out, n: r, k: n, alpha: 2, dy.data, lda: out, hr.data, ldb: r, beta: 1, db.data, ldc: r) },
                        { g.gemm(transA: false, transB: false, m: n, n: r, k: out, alpha: 2, dy.data, lda: out, b.data, ldb: r, dhr.data, ldc: r) },
                    ]
                    let flops = [2.0 * Double(n * r * inF), 2.0 * Double(n * r * out), 2.0 * Double(n * r * out), 2.0 * Double(n * r * out)]
                    let rates = zip(generic, flops).map { $1 / KernelBench.best(repeats, $0) / 1e9 }
                    print(String(format: "      %-5d %-5d %-9@", inF, out, "gemm512" as NSString) + rates.map { String(format: " %6.1f", $0) }.joined())
                }
                let products: [(flops: Double, run: () -> Void)] = [
                    (2.0 * Double(n * r * inF), { lora.down(n: n, r: r, inF: inF, x.data, ldx: inF, a.data, hr.data, ldh: r) }),
                    (2.0 * Double(n * r * out), {
                        lora.up(n: n, out: out, r: r, scale: 2, hr.data, ldh: r, b: b, bT: lora.transposedB(b), y.data, ldy: out) }),
                    (2.0 * Double(n * r * out), {
                        lora.gradB(n: n, out: out, r: r, scale: 2, dy.data, ldy: out, hr.data, ldh: r, db.data, beta: 1) }),
                    (2.0 * Double(n * r * out), {
                        lora.gradHr(n: n, out: out, r: r, scale: 2, dy.data, ldy: out, b: b, bT: lora.transposedB(b), dhr.data, ldh: r) }),
                    (2.0 * Double(n * r * inF), { lora.gradA(n: n, r: r, inF: inF, dhr.data, ldh: r, x.data, ldx: inF, da.data, beta: 1) }),
                    (2.0 * Double(n * r * inF), { lora.gradX(n: n, r: r, inF: inF, dhr.data, ldh: r, a.data, dx.data, beta: 1) }),
                ]
                let seconds = products.map { KernelBench.best(repeats, $0.run) }
                let rates = zip(products, seconds).map { $0.flops / $1 / 1e9 }
                let all = products.reduce(0) { $0 + $1.flops } / seconds.reduce(0, +) / 1e9
                print(String(format: "      %-5d %-5d %-9@", inF, out, name as NSString)
                      + rates.map { String(format: " %6.1f", $0) }.joined() + String(format: "  %7.1f", all))
            }
        }
    }
}
