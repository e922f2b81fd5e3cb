import Autodiff
import Foundation
import Tensors
import XCTest

final class AttentionGradientTests: XCTestCase {
    /// Naive reference: per segment, per head, explicit causal softmax in Double.
    func referenceAttention(q: Tensor, k: Tensor, v: Tensor, heads: Int, kvHeads: Int, d: Int, segments: [Segment]) -> [Float] {
        let n = q.rows
        var out = [Float](repeating: 0, count: n * heads * d)
        let rep = heads / kvHeads
        for seg in segments {
            for h in 0..<heads {
                let g = h / rep
                for i in 0..<seg.length {
                    let qi = seg.start + i
                    var scores: [Double] = []
                    for j in 0...i {
                        var s = 0.0
                        for c in 0..<d { s += Double(q[qi * heads * d + h * d + c]) * Double(k[(seg.start + j) * kvHeads * d + g * d + c]) }
                        scores.append(s / Double(d).squareRoot())
                    }
                    let m = scores.max()!
                    let e = scores.map { Foundation.exp($0 - m) }
                    let z = e.reduce(0, +)
                    for c in 0..<d {
                        var acc = 0.0
                        for j in 0...i { acc += e[j] / z * Double(v[(seg.start + j) * kvHeads * d + g * d + c]) }
                        out[qi * heads * d + h * d + c] = Float(acc)
                    }
                }
            }
        }
        return out
    }

    /// Values against the reference and gradients by finite differences, with OpenBLAS's products and,
    /// where the CPU has AVX-512F, with our AVX-512 kernel's (bf16 runs).
    func check(heads: Int, kvHeads: Int, d: Int, n: Int, segments: [Segment], seed: UInt64) {
        let q = leaf([n, heads * d], seed: seed), k = leaf([n, kvHeads * d], seed: seed + 1)
        let v = leaf([n, kvHeads * d], seed: seed + 2)
        let ref = referenceAttention(q: q.value, k: k.value, v: v.value, heads: heads, kvHeads: kvHeads, d: d, segments: segments)
        for products in [FP32Products.openBLAS] + (CPUInfo.current.avx512f ? [.avx512] : []) {
            let y = Tape().attention(q: q, k: k, v: v, heads: heads, kvHeads: kvHeads, headDim: d, segments: segments, products: products)
            for i in 0..<ref.count { XCTAssertEqual(y.value[i], ref[i], accuracy: 1e-5, "\(products) element \(i)") }
            assertGradients(GradCheck.check([("q", q), ("k", k), ("v", v)]) {
                $0.attention(q: q, k: k, v: v, heads: heads, kvHeads: kvHeads, headDim: d, segments: segments, products: products)
            }, tolerance: 1e-3)
        }
    }

    /// The two product kernels on a long head (several row tiles, ragged column panels): same values
    /// and gradients up to fp32 summation order.
    func testAVX512ProductsAgreeWithOpenBLAS() throws {
        guard CPUInfo.current.avx512f else { throw XCTSkip("no AVX-512F on this CPU: only the OpenBLAS products run here") }
        let (heads, kvHeads, d, n) = (3, 1, 40, 150)
        let segments = [Segment(start: 0, length: 100), Segment(start: 100, length: 50)]
        func run(_ products: FP32Products) -> [[Float]] {
            let q = leaf([n, heads * d], seed: 7), k = leaf([n, kvHeads * d], seed: 8), v = leaf([n, kvHeads * d], seed: 9)
            let tape = Tape()
            let y = tape.attention(q: q, k: k, v: v, heads: heads, kvHeads: kvHeads, headDim: d, segments: segments, products: products)
            tape.backward(from: y, seed: randomTensor([n, heads * d], seed: 10))  // the gradient of Σ y ⊙ seed
            return [y.value.array, q.grad!.array, k.grad!.array, v.grad!.array]
        }
        let blas = run(.openBLAS), ours = run(.avx512)
        for (name, (x, y)) in zip(["output", "dq", "dk", "dv"], zip(blas, ours)) {
            let scale = x.map { abs($0) }.max()!
            for i in 0..<x.count { XCTAssertEqual(x[i], y[i], accuracy: 1e-5 * scale, "\(name) \(i)") }
            XCTAssertNotEqual(x, [Float](repeating: 0, count: x.count), name)
        }
    }

    func testMultiHeadNoGrouping() { check(heads: 2, kvHeads: 2, d: 4, n: 6, segments: [Segment(start: 0, length: 6)], seed: 40) }
    func testGroupsOfTwo() { check(heads: 4, kvHeads: 2, d: 4, n: 5, segments: [Segment(start: 0, length: 5)], seed: 50) }
    func testMultiQuery() { check(heads: 3, kvHeads: 1, d: 6, n: 5, segments: [Segment(start: 0, length: 5)], seed: 60) }
    func testGroupsOfThree() { check(heads: 6, kvHeads: 2, d: 4, n: 4, segments: [Segment(start: 0, length: 4)], seed: 70) }

    func testLongSegmentsSpanSeveralRowTiles() {
        // 150 and 70 rows: several 64-row tiles, a ragged last tile, and a segment starting mid-batch.
        check(heads: 2, kvHeads: 1, d: 4, n: 221, segments: [Segment(start: 0, length: 150), Segment(start: 150, length: 70)], seed: 85)
    }

    func testTileBoundariesAndAnOddNumberOfHeads() {
        // Segments of 1 row, exactly one 64-row tile, and one row over (two tiles: cut into two backward
        // parts with the AVX-512 products); 3 query heads on one kv head.
        let lengths = [1, 64, 65]
        var start = 0
        let segments = lengths.map { l in defer { start += l }; return Segment(start: start, length: l) }
        check(heads: 3, kvHeads: 1, d: 4, n: start, segments: segments, seed: 87)
    }

    /// Work is cut into items and spread over the workers; the result must not depend on how many.
    func testSameBitsOnOneAndTwoWorkers() {
        let (heads, kvHeads, d, n) = (5, 1, 8, 200)
        let segments = [Segment(start: 0, length: 170), Segment(start: 170, length: 30)]
        let saved = Threads.count
        defer { Threads.configure(saved) }
        for products in [FP32Products.openBLAS] + (CPUInfo.current.avx512f ? [.avx512] : []) {
            func run(workers: Int) -> [[Float]] {
                Threads.configure(workers)
                let q = leaf([n, heads * d], seed: 11), k = leaf([n, kvHeads * d], seed: 12), v = leaf([n, kvHeads * d], seed: 13)
                let tape = Tape()
                let y = tape.attention(q: q, k: k, v: v, heads: heads, kvHeads: kvHeads, headDim: d, segments: segments, products: products)
                tape.backward(from: y, seed: randomTensor([n, heads * d], seed: 14))
                return [y.value.array, q.grad!.array, k.grad!.array, v.grad!.array]
            }
            let one = run(workers: 1), two = run(workers: 2)
            for (name, (a, b)) in zip(["output", "dq", "dk", "dv"], zip(one, two)) { assertSameBits(b, a, "\(products) \(name)") }
        }
    }

    func testDocumentMaskAndPadding() {
        // Rows 0-2: document A; 3-6: document B; 7-8: padding (in no segment).
        check(heads: 4, kvHeads: 2, d: 4, n: 9, segments: [Segment(start: 0, length: 3), Segment(start: 3, length: 4)], seed: 80)
    }

    func testPaddingRowsAreNeverAttendedAndGetNoGradient() {
        let heads = 2, kv = 1, d = 4, n = 8
        let segs = [Segment(start: 0, length: 3), Segment(start: 4, length: 2)]  // rows 3, 6, 7 are padding
        let padding = [3, 6, 7]
        for products in [FP32Products.openBLAS] + (CPUInfo.current.avx512f ? [.avx512] : []) {
            let q = leaf([n, heads * d], seed: 90), k = leaf([n, kv * d], seed: 91), v = leaf([n, kv * d], seed: 92)
            let tape = Tape()
            let y = tape.attention(q: q, k: k, v: v, heads: heads, kvHeads: kv, headDim: d, segments: segs, products: products)
            // Changing the padding rows' k/v leaves real outputs untouched.
            let k2 = Variable(k.value.copy()), v2 = Variable(v.value.copy())
            for r in padding { for c in 0..<(kv * d) { k2.value[r * kv * d + c] = 100; v2.value[r * kv * d + c] = -100 } }
            let y2 = Tape().attention(q: q, k: k2, v: v2, heads: heads, kvHeads: kv, headDim: d, segments: segs, products: products)
            XCTAssertEqual(y.value.array, y2.value.array, "\(products)")
            tape.backward(from: y, seed: randomTensor([n, heads * d], seed: 93))
            for r in padding {
                for c in 0..<(heads * d) {
                    XCTAssertEqual(y.value[r * heads * d + c], 0, "\(products) output row \(r)")
                    XCTAssertEqual(q.grad![r * heads * d + c], 0, "\(products) dq row \(r)")
                }
                for c in 0..<(kv * d) {
                    XCTAssertEqual(k.grad![r * kv * d + c], 0, "\(products) dk row \(r)")
                    XCTAssertEqual(v.grad![r * kv * d + c], 0, "\(products) dv row \(r)")
                }
            }
        }
    }

    func testPackedDocumentEqualsAlone() {
        let heads = 2, kv = 1, d = 4
        let q = randomTensor([7, heads * d], seed: 94), k = randomTensor([7, kv * d], seed: 95), v = randomTensor([7, kv * d], seed: 96)
        let packed = Tape().attention(q: Variable(q), k: Variable(k), v: Variable(v), heads: heads, kvHeads: kv, headDim: d,
                                      segments: [Segment(start: 0, length: 3), Segment(start: 3, length: 4)])
        func slice(_ t: Tensor, _ r: Range<Int>) -> Tensor {
            Tensor(shape: [r.count, t.columns], values: Array(t.array[(r.lowerBound * t.columns)..<(r.upperBound * t.columns)]))
        }
        let alone = Tape().attention(q: Variable(slice(q, 3..<7)), k: Variable(slice(k, 3..<7)), v: Variable(slice(v, 3..<7)),
                                     heads: heads, kvHeads: kv, headDim: d, segments: [Segment(start: 0, length: 4)])
        for i in 0..<alone.value.count { XCTAssertEqual(packed.value[3 * heads * d + i], alone.value[i], accuracy: 1e-6) }
    }
}
