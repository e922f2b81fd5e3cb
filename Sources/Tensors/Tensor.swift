import Foundation

/// A Float32, row-major, contiguous tensor with 64-byte-aligned storage.
///
/// Storage comes from `BufferPool`, so a training step that allocates the same shapes as the step
/// before reuses memory instead of asking the system for more. The element buffer is a raw pointer
/// (not an array held in a class property, measured at 14-25x slower to index; docs/architecture.md, Swift performance facts).
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

    /// Rows of a 2-D view: the first dimension, with every other dimension folded into columns
    /// (a vector `[n]` is n rows of one column; a scalar is 1 × 1).
    public var rows: Int { shape.first ?? 1 }
    public var columns: Int { shape.count <= 1 ? 1 : count / max(shape[0], 1) }

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

/// Recycles aligned float buffers by size class.
///
/// A training step allocates the same kinds of activations every time, but micro-batches differ in
/// length, so exact sizes rarely repeat. Capacities are rounded up to size classes (at most 25 %
/// larger than asked: four classes per power of two), so a freed buffer serves the next step's
/// slightly different shape and steady-state steps stop asking the system for memory (each fresh
/// allocation costs page faults on first touch). `trim()` returns everything to the system.
public final class BufferPool: @unchecked Sendable {
    public static let shared = BufferPool()

    private var free: [Int: [UnsafeMutablePointer<Float>]] = [:]
    private let lock = NSLock()
    private(set) public var cachedBytes = 0
    /// Buffers obtained from the system so far (not served from the pool): constant in steady state.
    private(set) public var systemAllocations = 0
    /// Buffers above this many cached bytes are released to the system instead of kept.
    public var limitBytes = 16 << 30

    /// The capacity a request of `count` floats gets: a multiple of 16 up to 1024, then a multiple of a
    /// quarter of the largest power of two not above it.
    static func sizeClass(_ count: Int) -> Int {
        if count <= 1024 { return max(16, (count + 15) / 16 * 16) }
        let step = (1 << (Int.bitWidth - 1 - count.leadingZeroBitCount)) / 4
        return (count + step - 1) / step * step
    }

    public func take(_ count: Int) -> UnsafeMutablePointer<Float> {
        let capacity = Self.sizeClass(count)
        lock.lock()
        if var list = free[capacity], let p = list.popLast() {
            free[capacity] = list
            cachedBytes -= capacity * 4
            lock.unlock()
            return p
        }
        systemAllocations += 1
        lock.unlock()
        var raw: UnsafeMutableRawPointer?
        let bytes = capacity * MemoryLayout<Float>.stride
        guard posix_memalign(&raw, 64, bytes) == 0, let raw else { Self.outOfMemory(bytes) }
        return raw.bindMemory(to: Float.self, capacity: capacity)
    }

    /// The memory check before training estimates what a step needs; if the system still refuses a
    /// buffer, say so plainly and exit (no trap, no core dump): every earlier checkpoint is intact.
    private static func outOfMemory(_ bytes: Int) -> Never {
        let available = ProcessMemory.availableBytes.map { "\($0 >> 20) MiB" } ?? "unknown"
        FileHandle.standardError.write(Data("""
            llama-sft: error: out of memory: the system refused \(bytes >> 20) MiB (available now: \(available)). \
            Lower train.batch_size, data.max_seq_len or lora.rank, or set train.gradient_checkpointing; \
            the last checkpoint is intact.\n
            """.utf8))
        exit(1)
    }

    public func give(_ p: UnsafeMutablePointer<Float>, count: Int) {
        let capacity = Self.sizeClass(count)
        lock.lock()
        if cachedBytes + capacity * 4 <= limitBytes {
            free[capacity, default: []].append(p)
            cachedBytes += capacity * 4
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
