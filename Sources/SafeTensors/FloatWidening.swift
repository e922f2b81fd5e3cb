import Foundation
import Tensors

/// Little-endian F32 / F16 / BF16 element runs of a mapped file widened to `Float`; the element
/// conversions themselves are `Tensors`' (`bf16ToFloat`, `f16ToFloat`).
///
/// The loops are plain pointer loops over `loadUnaligned` so LLVM vectorizes them (the data buffer of a
/// file is only guaranteed 8-aligned from the file start, and a tensor may sit at any offset). With the
/// `haswell` target the F16 loop becomes `vcvtph2ps`.
public enum FloatWidening {
    /// Widens `count` little-endian values of `dtype` at `src` (any alignment) into `dst`; returns false,
    /// writing nothing, when `dtype` is not F32, BF16 or F16.
    public static func widen(_ src: UnsafeRawPointer, _ dtype: DType, into dst: UnsafeMutablePointer<Float>, count: Int) -> Bool {
        switch dtype {
        case .f32: f32(src, dst, count)
        case .bf16: bf16(src, dst, count)
        case .f16: f16(src, dst, count)
        default: return false
        }
        return true
    }

    /// `count` little-endian F32 values at `src` → `dst`.
    public static func f32(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int) {
        #if _endian(little)
        memcpy(dst, src, count * 4)
        #else
        for i in 0..<count {
            dst[i] = Float(bitPattern: UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
        }
        #endif
    }

    public static func bf16(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int) {
        for i in 0..<count {
            dst[i] = bf16ToFloat(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
        }
    }

    public static func f16(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int) {
        for i in 0..<count {
            dst[i] = f16ToFloat(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
        }
    }
}
