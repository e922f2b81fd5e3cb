/// A frozen base-model matrix `[rows, columns]`, kept in the checkpoint's dtype.
///
/// Base weights are never trained (docs/architecture.md, "fp32 master weights"). A bf16/f16 weight stays in the memory-mapped
/// file and is widened to fp32 when an op needs it (`withFloat32`), into a scratch buffer released
/// right after; an fp32 weight (or a widened cache) is used in place. In precision bf16 a weight's
/// packed panels become its only copy (`releaseBaseForBF16`, docs/precision.md).
public final class FrozenWeight: @unchecked Sendable {
    public enum Storage {
        case float32(Tensor)
        /// fp32 rows inside another weight's storage (a part of a stacked fp32 matrix).
        case float32View(UnsafePointer<Float>)
        case bfloat16(UnsafePointer<UInt16>)
        case float16(UnsafePointer<UInt16>)
        /// Several weights with the same column count, stacked by rows (q/k/v, gate/up), each kept in
        /// its own storage; widened into one fp32 matrix when used.
        case stacked([FrozenWeight])
        /// Rows in a format only a higher layer can decode (GGUF quantized blocks), decoded per use.
        case encoded(EncodedRows)
        /// Rows `firstRow…` of a weight packed for the bf16 kernel (its `x·Wᵀ` panels), the only copy
        /// once the stored base was released: read back as those bf16 values, widened.
        case bf16Panels(BF16Panels, firstRow: Int)
    }

    public let rows: Int
    public let columns: Int
    /// Set once at load; replaced only by `releaseBaseForBF16` (before training uses the weight).
    public internal(set) var storage: Storage
    /// Keeps the owner of a borrowed pointer (a file mapping, or the stacked matrix) alive.
    var owner: AnyObject?
    /// The weight packed for the bf16 kernel (precision bf16); the products use it when set.
    public internal(set) var bf16: BF16Weight?

    public var count: Int { rows * columns }
    public var shape: [Int] { [rows, columns] }

    public init(_ tensor: Tensor) {
        precondition(tensor.shape.count <= 2, "FrozenWeight needs a matrix or vector, got \(tensor.shape)")
        rows = tensor.shape.count == 2 ? tensor.shape[0] : 1
        columns = tensor.shape.count == 2 ? tensor.shape[1] : tensor.count
        storage = .float32(tensor)
        owner = nil
    }

    public init(rows: Int, columns: Int, storage: Storage, owner: AnyObject?) {
        self.rows = rows
        self.columns = columns
        self.storage = storage
        self.owner = owner
    }

    /// The fp32 elements in place, when the storage is fp32 (no widening needed).
    public var float32Pointer: UnsafePointer<Float>? {
        switch storage {
        case .float32(let t): return UnsafePointer(t.data)
        case .float32View(let p): return p
        default: return nil
        }
    }

    /// Calls `body` with an fp32 view of the whole matrix (widened into a temporary if needed).
    public func withFloat32<R>(_ body: (UnsafePointer<Float>) throws -> R) rethrows -> R {
        if let p = float32Pointer { return try body(p) }
        let tmp = Tensor(uninitialized: [count])
        writeFloat32(to: tmp.data)
        return try body(tmp.data)
    }

    /// Writes the whole matrix as fp32 into `dst` (`count` floats).
    public func writeFloat32(to dst: UnsafeMutablePointer<Float>) {
        switch storage {
        case .float32(let t): dst.update(from: t.data, count: count)
        case .float32View(let p): dst.update(from: p, count: count)
        case .bfloat16(let p): convertBF16ToFloat(p, dst, count: count)
        case .float16(let p): convertF16ToFloat(p, dst, count: count)
        case .stacked(let parts):
            var offset = 0
            for part in parts {
                part.writeFloat32(to: dst + offset)
                offset += part.count
            }
        case .encoded(let rows): rows.decodeAll(rowCount: self.rows, columns: columns, into: dst)
        case .bf16Panels:
            for r in 0..<rows { copyRow(r, to: dst + r * columns) }
        }
    }

    /// Copies row `r` as fp32 into `dst` (`columns` floats) without widening the whole matrix.
    public func copyRow(_ r: Int, to dst: UnsafeMutablePointer<Float>) {
        switch storage {
        case .float32(let t): dst.update(from: t.data + r * columns, count: columns)
        case .float32View(let p): dst.update(from: p + r * columns, count: columns)
        case .bfloat16(let p): convertBF16ToFloat(p + r * columns, dst, count: columns)
        case .float16(let p): convertF16ToFloat(p + r * columns, dst, count: columns)
        case .stacked(let parts):
            var row = r
            for part in parts {
                if row < part.rows { return part.copyRow(row, to: dst) }
                row -= part.rows
            }
        case .encoded(let rows): rows.decode(r, 1, dst)
        case .bf16Panels(let panels, let firstRow): panels.copyForwardRow(firstRow + r, to: dst)
        }
    }

    /// An fp32 copy of the whole matrix as a tensor `[rows, columns]`.
    public func toTensor() -> Tensor {
        let t = Tensor(uninitialized: [rows, columns])
        writeFloat32(to: t.data)
        return t
    }

    /// The same weight held as fp32 (a widened copy for 16-bit storage; self for fp32).
    public func widened() -> FrozenWeight {
        if float32Pointer != nil { return self }
        return FrozenWeight(toTensor())
    }

    /// Stacks weights with equal column counts by rows, so one GEMM computes all their projections.
    ///
    /// fp32 parts are copied into one contiguous matrix and returned as views into it (no memory is
    /// duplicated once the caller drops the originals); 16-bit parts stay where they are and are
    /// widened together per use.
    public static func stack(_ parts: [FrozenWeight]) -> (stacked: FrozenWeight, parts: [FrozenWeight]) {
        let columns = parts[0].columns
        precondition(parts.allSatisfy { $0.columns == columns }, "stack: parts have different column counts")
        let rows = parts.reduce(0) { $0 + $1.rows }
        guard parts.allSatisfy({ $0.float32Pointer != nil }) else {
            return (FrozenWeight(rows: rows, columns: columns, storage: .stacked(parts), owner: nil), parts)
        }
        let whole = Tensor(uninitialized: [rows, columns])
        var views: [FrozenWeight] = [], offset = 0
        for part in parts {
            part.writeFloat32(to: whole.data + offset)
            views.append(FrozenWeight(rows: part.rows, columns: columns, storage: .float32View(whole.data + offset), owner: whole))
            offset += part.count
        }
        return (FrozenWeight(whole), views)
    }
}

/// Matrix rows kept in an encoding that `Tensors` does not know (e.g. GGUF quant blocks, decoded by the
/// `GGUF` target), turned into fp32 rows on demand. The closure must be safe to call from several
/// threads at once on disjoint rows.
public struct EncodedRows: @unchecked Sendable {
    /// Decodes rows `first ..< first + count` into `dst` (`count · columns` floats, row-major).
    public let decode: (_ first: Int, _ count: Int, _ dst: UnsafeMutablePointer<Float>) -> Void

    public init(decode: @escaping (_ first: Int, _ count: Int, _ dst: UnsafeMutablePointer<Float>) -> Void) {
        self.decode = decode
    }

    /// All rows, split across the workers: decoding is per-row work that would otherwise leave a core idle.
    func decodeAll(rowCount: Int, columns: Int, into dst: UnsafeMutablePointer<Float>) {
        let out = SendablePointer(dst)
        parallelChunks(rowCount, minimumPerChunk: max(1, 32768 / max(1, columns))) { range in
            decode(range.lowerBound, range.count, out.pointer + range.lowerBound * columns)
        }
    }
}
