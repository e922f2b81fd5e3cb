import Foundation

/// Little-endian F32 / F16 / BF16 element runs widened to `Float`.
///
/// The loops are plain pointer loops over `loadUnaligned` so LLVM vectorizes them (the data buffer of a
/// file is only guaranteed 8-aligned from the file start, and a tensor may sit at any offset). With
/// `-target-cpu x86-64-v3` the F16 loop becomes `vcvtph2ps`.
public enum FloatWidening {
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

    /// bfloat16 is the top half of an fp32 bit pattern, so widening is exact: `bits << 16`.
    public static func bf16(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int) {
        for i in 0..<count {
            let h = UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
            dst[i] = Float(bitPattern: UInt32(h) << 16)
        }
    }

    /// IEEE binary16 → binary32 (exact).
    public static func f16(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int) {
        for i in 0..<count {
            let h = UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
            dst[i] = halfToFloat(h)
        }
    }

    @inline(__always)
    public static func halfToFloat(_ h: UInt16) -> Float {
        #if (os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64)
        // Swift's Float16 is unavailable on Intel Macs; decode the bits by hand there.
        let sign = UInt32(h & 0x8000) << 16
        let exponent = Int((h >> 10) & 0x1F)
        let mantissa = UInt32(h & 0x3FF)
        if exponent == 0x1F { return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13)) }  // inf / nan
        if exponent == 0 {
            // ±0 or subnormal: mantissa · 2⁻²⁴, exact in fp32.
            let magnitude = Float(mantissa) * Float(sign: .plus, exponent: -24, significand: 1)
            return sign == 0 ? magnitude : -magnitude
        }
        return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | (mantissa << 13))
        #else
        return Float(Float16(bitPattern: h))
        #endif
    }
}
