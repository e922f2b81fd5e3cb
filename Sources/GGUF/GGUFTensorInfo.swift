/// One tensor entry of a GGUF file, validated against the file.
public struct GGUFTensorInfo: Sendable, Equatable {
    public let name: String
    /// ggml dims, fastest first: `dimensions[0]` (`ne[0]`) is the row width. A `[out, in]` matrix is `[in, out]`.
    public let dimensions: [Int]
    public let type: GGMLType
    /// Offset of the data from the start of the data section (a multiple of the file's alignment).
    public let offset: Int
    /// Bytes of data: `rows · rowBytes`.
    public let byteCount: Int

    /// Elements per row (`ne[0]`).
    public var columns: Int { dimensions[0] }
    /// Number of rows: the product of all dims after the first.
    public var rows: Int { dimensions.dropFirst().reduce(1, *) }
    public var elementCount: Int { rows * columns }
    /// The shape the way Hugging Face / PyTorch write it (slowest first), e.g. `[out, in]`.
    public var shape: [Int] { dimensions.reversed() }
}
