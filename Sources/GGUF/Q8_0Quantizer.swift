/// fp32 → Q8_0, the way ggml's reference quantizer does it (`quantize_row_q8_0_ref` in ggml-quants.c; the
/// `gguf` Python package's `Q8_0.quantize_blocks` is bit-exact with it).
///
/// A block is 32 consecutive elements of a row, stored in 34 bytes: the scale `d = max|x| / 127` as an
/// IEEE half (rounded to nearest even), then 32 signed bytes `q = round(x / d)` computed as `x · (1/d)` in
/// fp32 and rounded half away from zero (C `roundf`). An all-zero block has `d = 0` and `q = 0`.
public enum Q8_0Quantizer {
    public static let blockSize = 32
    public static let bytesPerBlock = 34

    /// Quantizes `count` values (a multiple of 32) from `src` into `count / 32` blocks at `dst`.
    public static func quantize(_ src: UnsafePointer<Float>, count: Int, into dst: UnsafeMutableRawPointer) {
        precondition(count % blockSize == 0, "Q8_0 quantizes whole blocks of 32 values")
        for block in 0..<(count / blockSize) {
            let x = src + block * blockSize
            let out = dst + block * bytesPerBlock
            var amax: Float = 0
            for i in 0..<blockSize { amax = max(amax, abs(x[i])) }
            let d = amax / 127
            let inverse: Float = d == 0 ? 0 : 1 / d
            out.storeBytes(of: Float16(d).bitPattern.littleEndian, as: UInt16.self)
            let q = (out + 2).assumingMemoryBound(to: Int8.self)
            for i in 0..<blockSize {
                q[i] = Int8((x[i] * inverse).rounded(.toNearestOrAwayFromZero))
            }
        }
    }
}
