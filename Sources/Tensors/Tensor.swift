import Foundation

/// A Float32, row-major, contiguous tensor with 64-byte-aligned storage.
///
/// Storage comes from `BufferPool`, so a training step that allocates the same shapes as the step
/// before reuses memory instead of asking the system for more. The element buffer is a raw pointer
/// (not an array held in a class property, which SWIFT-NOTES §3 measured at 14-25x slower to index).
public final class Tensor: @unchecked Sendable {
    public let shape: [Int]
    public let count: Int
    /// The elements, row-major. Valid for the tensor's lifetime.
    public let data: UnsafeMutablePointer<Float>

    /// Uninitialised storage: every element must be written before it is read.
    public init(uninitialized shape: [Int]) {
        self.shape = shape
        self.count = shape.reduce(1, *)
        self.data = BufferPool.shared.take(count)
    }

    public convenience init(zeros shape: [Int]) {
        self.init(uninitialized: shape)
        data.update(repeating: 0, count: count)
    }

    public convenience init(shape: [Int], values: [Float]) {
        self.init(uninitialized: shape)
        precondition(values.count == count, "Tensor(shape:values:) got \(values.count) values for shape \(shape)")
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: count) }
    }

    public convenience init(shape: [Int], repeating value: Float) {
        self.init(uninitialized: shape)
        data.update(repeating: value, count: count)
    }

    deinit { BufferPool.shared.give(data, count: count) }

    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: data, count: count) }
    public var array: [Float] { Array(buffer) }

    /// Rows of a 2-D view: the first dimension, with every other dimension folded into columns.
    public var rows: Int { shape.first ?? 1 }
    public var columns: Int { shape.count <= 1 ? (shape.first.map { _ in 1 } ?? 1) : count / max(shape[0], 1) }

    public subscript(i: Int) -> Float {
        get { data[i] }
        set { data[i] = newValue }
    }

    /// A copy with the same shape.
    public func copy() -> Tensor {
        let t = Tensor(uninitialized: shape)
        t.data.update(from: data, count: count)
        return t
    }

    /// The same elements under another shape (a copy; tensors never alias storage).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        precondition(newShape.reduce(1, *) == count, "reshape \(shape) -> \(newShape) changes the element count")
        let t = Tensor(uninitialized: newShape)
        t.data.update(from: data, count: count)
        return t
    }

    public func fill(_ value: Float) { data.update(repeating: value, count: count) }
}

/// Recycles aligned float buffers by exact element count.
///
/// A training step allocates the same set of activation sizes every time; keeping freed buffers keyed
/// by size makes steady-state steps allocation-free. `trim()` returns everything to the system.
public final class BufferPool: @unchecked Sendable {
    public static let shared = BufferPool()

    private var free: [Int: [UnsafeMutablePointer<Float>]] = [:]
    private let lock = NSLock()
    private(set) public var cachedBytes = 0
    /// Buffers above this many cached bytes are released to the system instead of kept.
    public var limitBytes = 16 << 30

    public func take(_ count: Int) -> UnsafeMutablePointer<Float> {
        lock.lock()
        if var list = free[count], let p = list.popLast() {
            free[count] = list
            cachedBytes -= count * 4
            lock.unlock()
            return p
        }
        lock.unlock()
        var raw: UnsafeMutableRawPointer?
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        guard posix_memalign(&raw, 64, bytes) == 0, let raw else {
            fatalError("out of memory allocating \(bytes) bytes")
        }
        return raw.bindMemory(to: Float.self, capacity: max(count, 1))
    }

    public func give(_ p: UnsafeMutablePointer<Float>, count: Int) {
        lock.lock()
        if cachedBytes + count * 4 <= limitBytes {
            free[count, default: []].append(p)
            cachedBytes += count * 4
            lock.unlock()
        } else {
            lock.unlock()
            Foundation.free(p)
        }
    }

    /// Releases every cached buffer.
    public func trim() {
        lock.lock()
        for (_, list) in free { for p in list { Foundation.free(p) } }
        free = [:]
        cachedBytes = 0
        lock.unlock()
    }
}
