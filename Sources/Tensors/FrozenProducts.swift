/// The two products of a linear layer with a frozen weight, in the run's precision: fp32 through
/// OpenBLAS `sgemm`, or — once `packBF16()` has run — bf16 operands with fp32 accumulation (`bf16gemm`).
extension FrozenWeight {
    /// Converts and packs this weight for the bf16 products (once per run; idempotent). The stored
    /// base stays until `releaseBaseForBF16`.
    public func packBF16() {
        if bf16 == nil { bf16 = BF16Weight(self) }
    }

    /// After `packBF16()`: makes the packed panels this weight's only copy (docs/precision.md, Memory).
    ///
    /// The stored base is released: an fp32 tensor or an in-memory 16-bit buffer is dropped (freed once
    /// nothing else holds it), and when `fileMapped` says 16-bit rows lie in a read-only file mapping,
    /// the whole pages of their byte range are handed back to the system (they would be read from the
    /// file again if touched). From then on every reader (`copyRow`, `writeFloat32`, `withFloat32`, an
    /// embedding lookup, an export of these weights) gets the packed bf16 values, widened: the stored
    /// values themselves only when they were bf16, so a caller that needs other stored values keeps the base.
    ///
    /// `parts`: the weights this one stacks by rows (q, k, v as views into a stacked fp32 matrix); each
    /// becomes its rows of the panels, so nothing keeps the stacked storage alive. The parts of a
    /// `.stacked` storage are found without being named.
    public func releaseBaseForBF16(fileMapped: Bool, parts: [FrozenWeight] = []) {
        guard let packed = bf16 else { preconditionFailure("releaseBaseForBF16: the weight was not packed (packBF16)") }
        var stackedParts = parts
        if case .stacked(let held) = storage {
            precondition(parts.isEmpty || parts.elementsEqual(held, by: ===), "releaseBaseForBF16: parts differ from the stacked weights")
            stackedParts = held
        }
        precondition(stackedParts.isEmpty || stackedParts.reduce(0, { $0 + $1.rows }) == rows && stackedParts.allSatisfy { $0.columns == columns },
                     "releaseBaseForBF16: parts do not stack to [\(rows), \(columns)]")
        var firstRow = 0
        for part in stackedParts {
            part.replaceBase(with: .bf16Panels(packed.forward, firstRow: firstRow), fileMapped: fileMapped)
            firstRow += part.rows
        }
        replaceBase(with: .bf16Panels(packed.forward, firstRow: 0), fileMapped: fileMapped)
    }

    private func replaceBase(with new: Storage, fileMapped: Bool) {
        switch storage {
        case .bfloat16(let p), .float16(let p):
            if fileMapped { releaseMappedPages(UnsafeRawPointer(p), byteCount: count * 2) }
        default:
            break
        }
        storage = new
        owner = nil
    }

    /// `y = x · Wᵀ`: x `[m, columns]` (row stride `ldx`), y `[m, rows]` (row stride `ldy`), overwritten.
    public func forwardProduct(m: Int, _ x: UnsafePointer<Float>, ldx: Int, _ y: UnsafeMutablePointer<Float>, ldy: Int) {
        WorkProfile.measure(.frozenForward) { forwardProductUnmeasured(m: m, x, ldx: ldx, y, ldy: ldy) }
    }

    private func forwardProductUnmeasured(m: Int, _ x: UnsafePointer<Float>, ldx: Int, _ y: UnsafeMutablePointer<Float>, ldy: Int) {
        if let packed = bf16 {
            bf16gemm(m: m, x, lda: ldx, packed.forward, accumulate: false, y, ldc: ldy)
            return
        }
        withFloat32 { wp in
            sgemm(transA: false, transB: true, m: m, n: rows, k: columns, x, lda: ldx, wp, ldb: columns, y, ldc: ldy)
        }
    }

    /// `dx = beta · dx + dy · W`: dy `[m, rows]`, dx `[m, columns]`; beta is 0 (overwrite) or 1 (add).
    public func backwardProduct(m: Int, _ dy: UnsafePointer<Float>, lddy: Int, _ dx: UnsafeMutablePointer<Float>, lddx: Int, beta: Float) {
        WorkProfile.measure(.frozenBackward) { backwardProductUnmeasured(m: m, dy, lddy: lddy, dx, lddx: lddx, beta: beta) }
    }

    private func backwardProductUnmeasured(m: Int, _ dy: UnsafePointer<Float>, lddy: Int, _ dx: UnsafeMutablePointer<Float>, lddx: Int, beta: Float) {
        if let packed = bf16 {
            precondition(beta == 0 || beta == 1, "backwardProduct: beta must be 0 or 1")
            packed.backwardProduct(m: m, dy, lda: lddy, accumulate: beta == 1, dx, ldc: lddx)
            return
        }
        withFloat32 { wp in
            sgemm(transA: false, transB: false, m: m, n: columns, k: rows, dy, lda: lddy, wp, ldb: columns, beta: beta, dx, ldc: lddx)
        }
    }
}
