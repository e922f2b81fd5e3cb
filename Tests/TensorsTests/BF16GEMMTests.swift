import Tensors
import XCTest

/// The bf16 GEMM (precision bf16): the portable kernel against the arithmetic written out on unpacked
/// operands, and the VDPBF16PS kernel against the portable one, bit for bit.
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
