/// One tensor's header entry, validated.
public struct TensorInfo: Sendable, Equatable {
    /// The tensor's name (header key), e.g. `model.layers.0.self_attn.q_proj.weight`.
    public let name: String
    public let dtype: DType
    /// Row-major dimensions; `[]` is a scalar, zero-size dimensions are allowed.
    public let shape: [Int]
    /// The tensor's bytes within the file's *data buffer* (the `data_offsets` pair; END exclusive).
    public let byteRange: Range<Int>

    public init(name: String, dtype: DType, shape: [Int], byteRange: Range<Int>) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.byteRange = byteRange
    }

    /// Number of elements (product of `shape`; 1 for a scalar). Validated not to overflow when the
    /// file was opened.
    public var count: Int {
        shape.reduce(1, &*)
    }

    /// Bytes the tensor occupies.
    public var byteCount: Int {
        byteRange.count
    }
}

/// Element count and byte count of a shape, or why there is none.
enum ShapeSizeError: Error {
    case negativeDimension(Int)
    case overflow
    case fractionalBytes
}

/// `numel` and `numel × bits / 8` with every multiplication overflow-checked, so a hostile header with
/// huge dimensions is reported instead of trapping.
func checkedSize(shape: [Int], dtype: DType) -> Result<(count: Int, bytes: Int), ShapeSizeError> {
    var count = 1
    for d in shape {
        if d < 0 { return .failure(.negativeDimension(d)) }
        let (p, overflow) = count.multipliedReportingOverflow(by: d)
        if overflow { return .failure(.overflow) }
        count = p
    }
    let (bits, overflow) = count.multipliedReportingOverflow(by: dtype.bitSize)
    if overflow { return .failure(.overflow) }
    if bits % 8 != 0 { return .failure(.fractionalBytes) }
    return .success((count, bits / 8))
}
