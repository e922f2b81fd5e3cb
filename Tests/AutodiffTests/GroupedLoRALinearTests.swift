import Autodiff
import Tensors
import XCTest

final class GroupedLoRALinearTests: XCTestCase {
    // Three projections of one input: q (adapted), k (not adapted), v (adapted, another rank).
    let inF = 6
    let wq = randomTensor([5, 6], seed: 300), wk = randomTensor([3, 6], seed: 301), wv = randomTensor([4, 6], seed: 302)
    let aq = leaf([2, 6], seed: 303), bq = leaf([5, 2], seed: 304)
    let av = leaf([3, 6], seed: 305), bv = leaf([4, 3], seed: 306)

    func grouped(_ tape: Tape, _ x: Variable, dropout: Float, products: FP32Products = .openBLAS) -> [Variable] {
        let stacked = FrozenWeight.stack([FrozenWeight(wq), FrozenWeight(wk), FrozenWeight(wv)]).stacked
        let y = tape.groupedLoRALinear(x, stacked, blocks: [
            LoRABlock(rows: 5, a: aq, b: bq, dropoutSeed: 11), LoRABlock(rows: 3),
            LoRABlock(rows: 4, a: av, b: bv, dropoutSeed: 12),
        ], scale: 1.5, dropout: dropout, products: products)
        return tape.splitColumns(y, widths: [5, 3, 4])
    }

    func separate(_ tape: Tape, _ x: Variable, dropout: Float) -> [Variable] {
        [tape.loraLinear(x, FrozenWeight(wq), a: aq, b: bq, scale: 1.5, dropout: dropout, dropoutSeed: 11),
         tape.linear(x, FrozenWeight(wk)),
         tape.loraLinear(x, FrozenWeight(wv), a: av, b: bv, scale: 1.5, dropout: dropout, dropoutSeed: 12)]
    }

    /// Concatenates outputs so one scalar projection checks every block.
    func joined(_ tape: Tape, _ parts: [Variable]) -> Variable {
        // Sum of parts through a shared-width trick: weight each block by a different frozen linear to [N, 2].
        var acc: Variable?
        for (i, p) in parts.enumerated() {
            let w = FrozenWeight(randomTensor([2, p.value.columns], seed: 400 + UInt64(i)))
            let y = tape.linear(p, w)
            acc = acc.map { tape.add($0, y) } ?? y
        }
        return acc!
    }

    func testGradientsWithoutDropout() {
        let x = leaf([4, inF], seed: 307)
        assertGradients(GradCheck.check([("x", x), ("Aq", aq), ("Bq", bq), ("Av", av), ("Bv", bv)]) { tape in
            self.joined(tape, self.grouped(tape, x, dropout: 0))
        })
    }

    func testGradientsWithDropout() {
        let x = leaf([4, inF], seed: 308)
        assertGradients(GradCheck.check([("x", x), ("Aq", aq), ("Bq", bq), ("Av", av), ("Bv", bv)]) { tape in
            self.joined(tape, self.grouped(tape, x, dropout: 0.25))
        })
    }

    /// bf16 runs compute the adapter products with our AVX-512 fp32 kernel where the CPU has it.
    func testGradientsWithAVX512Products() throws {
        guard CPUInfo.current.avx512f else { throw XCTSkip("no AVX-512F on this CPU: only the OpenBLAS products run here") }
        for dropout: Float in [0, 0.25] {
            let x = leaf([4, inF], seed: 311)
            assertGradients(GradCheck.check([("x", x), ("Aq", aq), ("Bq", bq), ("Av", av), ("Bv", bv)]) { tape in
                self.joined(tape, self.grouped(tape, x, dropout: dropout, products: .avx512))
            })
            let blas = Tape(recording: false), ours = Tape(recording: false)
            let yb = grouped(blas, x, dropout: dropout).flatMap(\.value.array), yo = grouped(ours, x, dropout: dropout, products: .avx512).flatMap(\.value.array)
            for (u, v) in zip(yb, yo) { XCTAssertEqual(u, v, accuracy: 1e-5 * max(1, abs(u))) }
        }
    }

    /// Several rank-8 adapters on one input (the q/k/v stack: 24 rank columns, three groups of the dot
    /// kernel) beside an unadapted block, 37 rows and an input width off the 16-float groups: the
    /// AVX-512 products give finite-difference gradients and OpenBLAS's values up to summation order,
    /// for the values and for every gradient, with dropout off and on.
    func testSeveralRank8AdaptersWithAVX512Products() throws {
        guard CPUInfo.current.avx512f else { throw XCTSkip("no AVX-512F on this CPU: only the OpenBLAS products run here") }
        let inF = 20, widths = [9, 5, 4, 7]
        let w = FrozenWeight.stack(widths.enumerated().map { FrozenWeight(randomTensor([$1, inF], seed: 500 + UInt64($0))) }).stacked
        let pairs = [0, 2, 3].map { i in (i, leaf([8, inF], seed: 510 + UInt64(i)), leaf([widths[i], 8], seed: 520 + UInt64(i))) }
        let x = leaf([37, inF], seed: 530)
        func run(_ tape: Tape, dropout: Float, _ products: FP32Products) -> Variable {
            let blocks = widths.enumerated().map { i, rows -> LoRABlock in
                guard let pair = pairs.first(where: { $0.0 == i }) else { return LoRABlock(rows: rows) }
                return LoRABlock(rows: rows, a: pair.1, b: pair.2, dropoutSeed: 40 + UInt64(i))
            }
            return joined(tape, tape.splitColumns(tape.groupedLoRALinear(x, w, blocks: blocks, scale: 0.75, dropout: dropout, products: products),
                                                  widths: widths))
        }
        let checked = [("x", x)] + pairs.flatMap { [("A\($0.0)", $0.1), ("B\($0.0)", $0.2)] }
        for dropout: Float in [0, 0.25] {
            assertGradients(GradCheck.check(checked) { run($0, dropout: dropout, .avx512) })
            func valuesAndGradients(_ products: FP32Products) -> [[Float]] {
                for (_, v) in checked { v.zeroGrad() }
                let tape = Tape()
                let y = run(tape, dropout: dropout, products)
                tape.backward(from: y, seed: randomTensor(y.shape, seed: 540))
                return [y.value.array] + checked.map { $0.1.grad!.array }
            }
            for (u, v) in zip(valuesAndGradients(.openBLAS), valuesAndGradients(.avx512)) {
                XCTAssertEqual(u.count, v.count)
                for (p, q) in zip(u, v) { XCTAssertEqual(p, q, accuracy: 1e-4 * max(1, abs(p)), "dropout \(dropout)") }
            }
        }
    }

    /// `groupedLoRALinearBlocks` (the up-products and the column copies run together in row chunks with
    /// the AVX-512 products) equals `splitColumns(groupedLoRALinear(…))` bit for bit: values and every
    /// gradient, with dropout off and on, on a group wide enough for several 8-row chunks per worker.
    func testBlocksOpEqualsGroupedOpThenSplitBitForBit() throws {
        var kinds: [FP32Products] = [.openBLAS]
        if CPUInfo.current.avx512f { kinds.append(.avx512) }
        let inF = 5, widths = [4100, 3, 4097]  // 65536 / 8200 floats per row: 8-row chunks
        let w = FrozenWeight.stack(widths.enumerated().map { FrozenWeight(randomTensor([$1, inF], seed: 600 + UInt64($0))) }).stacked
        let a0 = leaf([3, inF], seed: 610), b0 = leaf([4100, 3], seed: 611), a2 = leaf([8, inF], seed: 612), b2 = leaf([4097, 8], seed: 613)
        let x = leaf([45, inF], seed: 614)
        let blocks = [LoRABlock(rows: 4100, a: a0, b: b0, dropoutSeed: 1), LoRABlock(rows: 3), LoRABlock(rows: 4097, a: a2, b: b2, dropoutSeed: 2)]
        let seeds = widths.enumerated().map { randomTensor([45, $1], seed: 620 + UInt64($0)) }
        for kind in kinds {
            for dropout: Float in [0, 0.25] {
                func run(fused: Bool) -> [[UInt32]] {
                    for v in [x, a0, b0, a2, b2] { v.zeroGrad() }
                    let tape = Tape()
                    let parts = fused ? tape.groupedLoRALinearBlocks(x, w, blocks: blocks, scale: 1.25, dropout: dropout, products: kind)
                        : tape.splitColumns(tape.groupedLoRALinear(x, w, blocks: blocks, scale: 1.25, dropout: dropout, products: kind), widths: widths)
                    var acc: Variable?
                    for (part, seed) in zip(parts, seeds) {
                        let term = tape.linear(part, FrozenWeight(Tensor(shape: [1, part.value.columns], values: seed.array.prefix(part.value.columns).map { $0 })))
                        acc = acc.map { tape.add($0, term) } ?? term
                    }
                    tape.backward(from: acc!, seed: randomTensor([45, 1], seed: 630))
                    return parts.map { $0.value.array.map(\.bitPattern) } + [x, a0, b0, a2, b2].map { $0.grad!.array.map(\.bitPattern) }
                }
                XCTAssertEqual(run(fused: true), run(fused: false), "\(kind), dropout \(dropout)")
            }
        }
    }

    func testBlocksOpGradients() throws {
        guard CPUInfo.current.avx512f else { throw XCTSkip("no AVX-512F on this CPU: the blocks op is the grouped op then splitColumns here") }
        for dropout: Float in [0, 0.25] {
            let x = leaf([20, inF], seed: 640)
            assertGradients(GradCheck.check([("x", x), ("Aq", aq), ("Bq", bq), ("Av", av), ("Bv", bv)]) { tape in
                let stacked = FrozenWeight.stack([FrozenWeight(self.wq), FrozenWeight(self.wk), FrozenWeight(self.wv)]).stacked
                return self.joined(tape, tape.groupedLoRALinearBlocks(x, stacked, blocks: [
                    LoRABlock(rows: 5, a: self.aq, b: self.bq, dropoutSeed: 11), LoRABlock(rows: 3),
                    LoRABlock(rows: 4, a: self.av, b: self.bv, dropoutSeed: 12),
                ], scale: 1.5, dropout: dropout, products: .avx512))
            })
        }
    }

    func testEqualsSeparateProjections() {
        for dropout: Float in [0, 0.25] {
            let x = leaf([4, inF], seed: 309)
            let seed = randomTensor([4, 2], seed: 310)
            func run(_ f: (Tape, Variable, Float) -> [Variable]) -> [[Float]] {
                for v in [x, aq, bq, av, bv] { v.zeroGrad() }
                let tape = Tape()
                let parts = f(tape, x, dropout)
                let values = parts.map { $0.value.array }
                tape.backward(from: joined(tape, parts), seed: seed)
                return values + [x, aq, bq, av, bv].map { $0.grad!.array }
            }
            let a = run { self.grouped($0, $1, dropout: $2) }, b = run(separate)
            for (u, v) in zip(a, b) { for (p, q) in zip(u, v) { XCTAssertEqual(p, q, accuracy: 1e-5, "dropout \(dropout)") } }
        }
    }

    func testStackKeepsRowsAndSharesFloat32Storage() {
        let (stacked, parts) = FrozenWeight.stack([FrozenWeight(wq), FrozenWeight(wk)])
        XCTAssertEqual(stacked.shape, [8, inF])
        XCTAssertEqual(stacked.toTensor().array, wq.array + wk.array)
        XCTAssertEqual(parts[1].float32Pointer, stacked.float32Pointer! + 5 * inF)
        let row = Tensor(uninitialized: [inF])
        stacked.copyRow(6, to: row.data)
        XCTAssertEqual(row.array, Array(wk.array[inF..<(2 * inF)]))
    }
}
