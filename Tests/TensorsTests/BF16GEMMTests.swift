import Tensors
import XCTest

/// The bf16 GEMM (precision bf16): each portable kernel against its arithmetic written out on unpacked
/// operands, and the VDPBF16PS and TDPBF16PS kernels against their portable twins, bit for bit.
final class BF16GEMMTests: XCTestCase {
    func values(_ count: Int, seed: UInt64) -> Tensor {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        let t = Tensor(uninitialized: [count])
        for i in 0..<count {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            t[i] = Float(state % 2_000_001) / 1_000_000 - 1  // [-1, 1], with many below 2⁻⁸: rounding matters
        }
        return t
    }

    /// bf16 rounding as a float (round to nearest even).
    func rounded(_ f: Float) -> Float { Float(bitPattern: UInt32(floatToBF16(f)) << 16) }

    /// C[i, j] = start + Σ over pairs p of (odd product, then even product), every addition rounded once.
    func naive(m: Int, k: Int, n: Int, a: (Int, Int) -> Float, b: (Int, Int) -> Float, start: (Int, Int) -> Float) -> [Float] {
        var out = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var acc = start(i, j)
                for p in 0..<((k + 1) / 2) {
                    let odd = 2 * p + 1 < k ? (rounded(a(i, 2 * p + 1)), rounded(b(2 * p + 1, j))) : (Float(0), Float(0))
                    acc = acc.addingProduct(odd.0, odd.1)
                    acc = acc.addingProduct(rounded(a(i, 2 * p)), rounded(b(2 * p, j)))
                }
                out[i * n + j] = acc
            }
        }
        return out
    }

    /// The `tiled` arithmetic: k in groups of 16 pairs; per group an even chain and an odd chain from
    /// zero, then C + (even + odd). Denormals count as zero (none occur with these values).
    func naiveTiled(m: Int, k: Int, n: Int, a: (Int, Int) -> Float, b: (Int, Int) -> Float, start: (Int, Int) -> Float) -> [Float] {
        var out = [Float](repeating: 0, count: m * n)
        let pairs = (k + 1) / 2
        for i in 0..<m {
            for j in 0..<n {
                var acc = start(i, j)
                for g in stride(from: 0, to: pairs, by: 16) {
                    var even: Float = 0, odd: Float = 0
                    for p in g..<min(g + 16, pairs) {
                        even = even.addingProduct(rounded(a(i, 2 * p)), rounded(b(2 * p, j)))
                        if 2 * p + 1 < k { odd = odd.addingProduct(rounded(a(i, 2 * p + 1)), rounded(b(2 * p + 1, j))) }
                    }
                    acc += even + odd
                }
                out[i * n + j] = acc
            }
        }
        return out
    }

    // Shapes that leave partial 8-row tiles, partial 32-column panels, an odd k and more than one
    // 256-pair k block.
    let shapes = [(m: 13, k: 601, n: 45), (m: 8, k: 64, n: 32), (m: 3, k: 7, n: 70)]

    func testPortableKernelComputesTheStatedArithmetic() {
        for (m, k, n) in shapes {
            let x = values(m * k, seed: UInt64(m + k)), wt = values(n * k, seed: UInt64(n)), dy = values(m * n, seed: 5)
            let w = FrozenWeight(Tensor(shape: [n, k], values: wt.array))
            let y = Tensor(uninitialized: [m * n])
            bf16gemm(m: m, x.data, lda: k, BF16Panels.forward(w), accumulate: false, y.data, ldc: n, kernel: .portable)
            let expectY = naive(m: m, k: k, n: n, a: { x[$0 * k + $1] }, b: { wt[$1 * k + $0] }, start: { _, _ in 0 })
            XCTAssertEqual(y.array, expectY, "x·Wᵀ \(m)×\(k)×\(n)")

            // dY·W, accumulating into an existing gradient.
            let dx = values(m * k, seed: 9), before = dx.array
            bf16gemm(m: m, dy.data, lda: n, BF16Panels.backward(w), accumulate: true, dx.data, ldc: k, kernel: .portable)
            let expectDX = naive(m: m, k: n, n: k, a: { dy[$0 * n + $1] }, b: { wt[$0 * k + $1] }, start: { before[$0 * k + $1] })
            XCTAssertEqual(dx.array, expectDX, "dY·W \(m)×\(n)×\(k)")
        }
    }

    func testPortableAMXKernelComputesTheStatedArithmetic() {
        // 601 = 300 pairs + 1: eighteen full groups, a short one, and a 256-pair block boundary.
        for (m, k, n) in shapes + [(m: 2, k: 33, n: 5)] {
            let x = values(m * k, seed: UInt64(m + k)), wt = values(n * k, seed: UInt64(n)), dy = values(m * n, seed: 5)
            let w = FrozenWeight(Tensor(shape: [n, k], values: wt.array))
            let y = Tensor(uninitialized: [m * n])
            bf16gemm(m: m, x.data, lda: k, BF16Panels.forward(w), accumulate: false, y.data, ldc: n, kernel: .portableAMX)
            let expectY = naiveTiled(m: m, k: k, n: n, a: { x[$0 * k + $1] }, b: { wt[$1 * k + $0] }, start: { _, _ in 0 })
            XCTAssertEqual(y.array, expectY, "x·Wᵀ \(m)×\(k)×\(n)")

            let dx = values(m * k, seed: 9), before = dx.array
            bf16gemm(m: m, dy.data, lda: n, BF16Panels.backward(w), accumulate: true, dx.data, ldc: k, kernel: .portableAMX)
            let expectDX = naiveTiled(m: m, k: n, n: k, a: { dy[$0 * n + $1] }, b: { wt[$0 * k + $1] }, start: { before[$0 * k + $1] })
            XCTAssertEqual(dx.array, expectDX, "dY·W \(m)×\(n)×\(k)")
        }
    }

    /// Values worked out by hand where the two orders disagree: C = 1, one pair whose products are
    /// +2²⁵ (even) and −2²⁵ (odd). `pairwise`: 1 − 2²⁵ rounds to −2²⁵ (a tie, to even), + 2²⁵ = 0.
    /// `tiled`: the chains hold +2²⁵ and −2²⁵, their sum is 0, and 1 + 0 = 1. Every kernel this CPU
    /// runs must give its arithmetic's answer.
    func testTheTwoArithmeticsDifferAsDocumented() {
        let big = Float(1 << 25)
        let w = FrozenWeight(Tensor(shape: [1, 2], values: [1, -1]))  // one output, k = 2
        let x = Tensor(shape: [2], values: [big, big])
        for kernel in BF16Kernel.allCases where kernel.isAvailable {
            let c = Tensor(shape: [1], values: [1])
            bf16gemm(m: 1, x.data, lda: 2, BF16Panels.forward(w), accumulate: true, c.data, ldc: 1, kernel: kernel)
            XCTAssertEqual(c[0], kernel.arithmetic == .tiled ? 1 : 0, "\(kernel.rawValue)")
        }
    }

    func testAMXKernelEqualsPortableBitForBit() throws {
        guard BF16Kernel.amx.isAvailable else {
            print("BF16GEMMTests: no usable AMX-BF16 here (\(CPUInfo.current.summary)): checked the portable-amx kernel only")
            return
        }
        // Partial 16- and 32-row tiles, partial panels, short groups, several k blocks, both products.
        // k over several of the kernel's 512-pair blocks with a short last group (k 2090), few panels (split
        // by rows), many panels (split by panels), odd out and in.
        let amxShapes = [(m: 64, k: 1536, n: 576), (m: 512, k: 576, n: 200), (m: 47, k: 96, n: 64), (m: 17, k: 30, n: 33),
                         (m: 70, k: 2090, n: 97), (m: 33, k: 31, n: 1031), (m: 96, k: 64, n: 16)]
        for (m, k, n) in shapes + amxShapes {
            let x = values(m * k, seed: UInt64(3 * m + k)), w = FrozenWeight(Tensor(shape: [n, k], values: values(n * k, seed: 77).array))
            let packed = BF16Panels.forward(w)
            let fast = Tensor(uninitialized: [m * n]), slow = Tensor(uninitialized: [m * n])
            bf16gemm(m: m, x.data, lda: k, packed, accumulate: false, fast.data, ldc: n, kernel: .amx)
            bf16gemm(m: m, x.data, lda: k, packed, accumulate: false, slow.data, ldc: n, kernel: .portableAMX)
            XCTAssertEqual(fast.array.map(\.bitPattern), slow.array.map(\.bitPattern), "x·Wᵀ \(m)×\(k)×\(n)")

            let dy = values(m * n, seed: 8), start = values(m * k, seed: 6)
            let back = BF16Panels.backward(w)
            for accumulate in [true, false] {
                let fastDX = Tensor(shape: [m * k], values: start.array), slowDX = Tensor(shape: [m * k], values: start.array)
                let fromForward = Tensor(shape: [m * k], values: start.array)
                bf16gemm(m: m, dy.data, lda: n, back, accumulate: accumulate, fastDX.data, ldc: k, kernel: .amx)
                bf16gemm(m: m, dy.data, lda: n, back, accumulate: accumulate, slowDX.data, ldc: k, kernel: .portableAMX)
                // The backward panels built block by block inside the kernel from the forward panels.
                bf16gemmFromForward(m: m, dy.data, lda: n, packed, accumulate: accumulate, fromForward.data, ldc: k)
                XCTAssertEqual(fastDX.array.map(\.bitPattern), slowDX.array.map(\.bitPattern), "dY·W \(m)×\(n)×\(k)")
                XCTAssertEqual(fromForward.array.map(\.bitPattern), slowDX.array.map(\.bitPattern), "dY·W from forward panels \(m)×\(n)×\(k)")
            }
        }
        print("BF16GEMMTests: TDPBF16PS kernel equals the portable-amx kernel bit for bit on \(CPUInfo.current.brand)")
    }

    func testAVX512BF16KernelEqualsPortableBitForBit() throws {
        guard CPUInfo.current.avx512bf16 else {
            print("BF16GEMMTests: this CPU (\(CPUInfo.current.summary)) has no AVX512_BF16: checked the portable kernel only")
            return
        }
        for (m, k, n) in shapes + [(m: 64, k: 1536, n: 576), (m: 512, k: 576, n: 200)] {
            let x = values(m * k, seed: UInt64(3 * m + k)), w = FrozenWeight(Tensor(shape: [n, k], values: values(n * k, seed: 77).array))
            let packed = BF16Panels.forward(w)
            let fast = Tensor(uninitialized: [m * n]), slow = Tensor(uninitialized: [m * n])
            bf16gemm(m: m, x.data, lda: k, packed, accumulate: false, fast.data, ldc: n, kernel: .avx512bf16)
            bf16gemm(m: m, x.data, lda: k, packed, accumulate: false, slow.data, ldc: n, kernel: .portable)
            XCTAssertEqual(fast.array.map(\.bitPattern), slow.array.map(\.bitPattern), "x·Wᵀ \(m)×\(k)×\(n)")

            let dy = values(m * n, seed: 8), start = values(m * k, seed: 6)
            let back = BF16Panels.backward(w)
            let fastDX = Tensor(shape: [m * k], values: start.array), slowDX = Tensor(shape: [m * k], values: start.array)
            bf16gemm(m: m, dy.data, lda: n, back, accumulate: true, fastDX.data, ldc: k, kernel: .avx512bf16)
            bf16gemm(m: m, dy.data, lda: n, back, accumulate: true, slowDX.data, ldc: k, kernel: .portable)
            XCTAssertEqual(fastDX.array.map(\.bitPattern), slowDX.array.map(\.bitPattern), "dY·W \(m)×\(n)×\(k)")
        }
        print("BF16GEMMTests: VDPBF16PS kernel equals the portable kernel bit for bit on \(CPUInfo.current.brand)")
    }

    func testBF16ProductIsCloseToFP32() {
        let m = 16, k = 256, n = 48
        let x = values(m * k, seed: 1), w = FrozenWeight(Tensor(shape: [n, k], values: values(n * k, seed: 2).array))
        let exact = Tensor(uninitialized: [m * n]), approx = Tensor(uninitialized: [m * n])
        w.forwardProduct(m: m, x.data, ldx: k, exact.data, ldy: n)
        w.packBF16()
        w.forwardProduct(m: m, x.data, ldx: k, approx.data, ldy: n)
        var err = 0.0, norm = 0.0
        for i in 0..<exact.count { err += Double(exact[i] - approx[i]) * Double(exact[i] - approx[i]); norm += Double(exact[i] * exact[i]) }
        XCTAssertLessThan((err / norm).squareRoot(), 1e-2)
        XCTAssertGreaterThan(err, 0, "bf16 rounding must show")
    }

    func testCPUInfoIsConsistent() {
        let cpu = CPUInfo.current
        if cpu.avx512bf16 { XCTAssertTrue(cpu.avx512f) }
        if cpu.avx512f { XCTAssertTrue(cpu.avx2) }
        XCTAssertFalse(cpu.blasCore.isEmpty)
        XCTAssertEqual(Precision.auto.resolved(for: cpu), cpu.avx512bf16 ? .bf16 : .fp32)
        XCTAssertEqual(Precision.fp32.resolved(for: cpu), .fp32)
    }
}
