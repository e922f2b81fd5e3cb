/// A frozen base-model matrix `[rows, columns]`, kept in the checkpoint's dtype.
///
/// Base weights are never trained (DESIGN "Numerics"). A bf16/f16 weight stays in the memory-mapped
/// file and is widened to fp32 when an op needs it (`withFloat32`), into a scratch buffer released
/// right after; an fp32 weight (or a widened cache) is used in place.
public final class FrozenWeight: @unchecked Sendable {
    public enum Storage {
        case float32(Tensor)
        case bfloat16(UnsafePointer<UInt16>)
        case float16(UnsafePointer<UInt16>)
    }

    public let rows: Int
    public let columns: Int
    public let storage: Storage
    /// Keeps the owner of a mapped pointer (the file mapping) alive.
    private let owner: AnyObject?

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

    /// Calls `body` with an fp32 view of the whole matrix (widened into a temporary if needed).
    public func withFloat32<R>(_ body: (UnsafePointer<Float>) throws -> R) rethrows -> R {
        switch storage {
        case .float32(let t):
            return try body(t.data)
        case .bfloat16(let p):
            let tmp = Tensor(uninitialized: [count])
            convertBF16ToFloat(p, tmp.data, count: count)
            return try body(tmp.data)
        case .float16(let p):
            let tmp = Tensor(uninitialized: [count])
            convertF16ToFloat(p, tmp.data, count: count)
            return try body(tmp.data)
        }
    }

    /// Copies row `r` as fp32 into `dst` (`columns` floats) without widening the whole matrix.
    public func copyRow(_ r: Int, to dst: UnsafeMutablePointer<Float>) {
        switch storage {
        case .float32(let t): dst.update(from: t.data + r * columns, count: columns)
        case .bfloat16(let p): convertBF16ToFloat(p + r * columns, dst, count: columns)
        case .float16(let p): convertF16ToFloat(p + r * columns, dst, count: columns)
        }
    }

    /// An fp32 copy of the whole matrix as a tensor `[rows, columns]`.
    public func toTensor() -> Tensor {
        let t = Tensor(uninitialized: [rows, columns])
        withFloat32 { t.data.update(from: $0, count: count) }
        return t
    }

    /// The same weight held as fp32 (a widened copy for 16-bit storage; self for fp32).
    public func widened() -> FrozenWeight {
        if case .float32 = storage { return self }
        return FrozenWeight(toTensor())
    }
}
