import SafeTensors
import Tensors

/// fp32 ↔ the file dtypes a merged export reads and writes (F32, BF16, F16), on raw little-endian bytes.
enum FloatCoding {
    static func isFloat(_ dtype: DType) -> Bool { dtype == .f32 || dtype == .bf16 || dtype == .f16 }

    /// Widens `count` values of `dtype` at `src` into `dst`.
    static func widen(_ src: UnsafeRawPointer, _ dtype: DType, into dst: UnsafeMutablePointer<Float>, count: Int) {
        let widened = FloatWidening.widen(src, dtype, into: dst, count: count)
        precondition(widened, "widen: \(dtype) is not a float type")
    }

    /// Rounds `count` fp32 values once (nearest even) into `dtype` at `dst`. Returns how many finite
    /// inputs became infinite (float16's range ends at 65504; bf16 shares fp32's exponent range).
    @discardableResult
    static func narrow(_ src: UnsafePointer<Float>, into dst: UnsafeMutableRawPointer, _ dtype: DType, count: Int) -> Int {
        switch dtype {
        case .f32:
            dst.copyMemory(from: src, byteCount: count * 4)
            return 0
        case .bf16:
            convertFloatToBF16(src, dst.assumingMemoryBound(to: UInt16.self), count: count)
            return 0
        case .f16:
            let out = dst.assumingMemoryBound(to: UInt16.self)
            convertFloatToF16(src, out, count: count)
            var overflowed = 0
            for i in 0..<count where out[i] & 0x7FFF == 0x7C00 && src[i].isFinite { overflowed += 1 }
            return overflowed
        default:
            preconditionFailure("narrow: \(dtype) is not a float type")
        }
    }

    /// The value `x` takes once stored as `dtype` (for the rounding-loss count).
    @inline(__always)
    static func bits(_ x: Float, _ dtype: DType) -> UInt32 {
        switch dtype {
        case .bf16: return UInt32(floatToBF16(x))
        case .f16: return UInt32(floatToF16(x))
        default: return x.bitPattern
        }
    }

    /// The name transformers uses for a dtype in `config.json`.
    static func configName(_ dtype: DType) -> String? {
        switch dtype {
        case .f32: return "float32"
        case .bf16: return "bfloat16"
        case .f16: return "float16"
        default: return nil
        }
    }
}
