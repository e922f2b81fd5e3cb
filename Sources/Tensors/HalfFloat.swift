/// IEEE binary16 ("fp16", "half") ↔ fp32 for single values: the one definition both the model-file
/// reader (`SafeTensors`) and the bulk conversions (`Conversion.swift`) use.
///
/// Swift's `Float16` does the work in hardware where it exists. It is unavailable on Intel Macs, so
/// there the bit-level versions below are used; they are compiled everywhere so that the tests check
/// them against `Float16` on every platform that has it.

/// fp16 bits → fp32 (exact: every half is a float).
@inline(__always)
public func f16ToFloat(_ h: UInt16) -> Float {
    #if (os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64)
    return HalfBits.toFloat(h)
    #else
    return Float(Float16(bitPattern: h))
    #endif
}

/// fp32 → fp16 bits, rounding to nearest even; overflow gives ±infinity, NaN stays NaN.
@inline(__always)
public func floatToF16(_ f: Float) -> UInt16 {
    #if (os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64)
    return HalfBits.fromFloat(f)
    #else
    return Float16(f).bitPattern
    #endif
}

/// The binary16 layout written out by hand: sign (1 bit), exponent (5, bias 15), mantissa (10).
public enum HalfBits {
    public static func toFloat(_ h: UInt16) -> Float {
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
    }

    public static func fromFloat(_ f: Float) -> UInt16 {
        let b = f.bitPattern
        let sign = UInt16(truncatingIfNeeded: (b >> 16) & 0x8000)
        let exponent = Int((b >> 23) & 0xFF)
        var mantissa = b & 0x7F_FFFF
        if exponent == 0xFF {  // inf stays inf; NaN becomes a quiet NaN with the top payload bits
            return sign | 0x7C00 | (mantissa == 0 ? 0 : 0x200 | UInt16(truncatingIfNeeded: mantissa >> 13))
        }
        let e = exponent - 127 + 15  // the half exponent field, before rounding
        if e >= 0x1F { return sign | 0x7C00 }
        if e <= 0 {
            // A half subnormal (or zero): the value in units of 2⁻²⁴, rounded to nearest even.
            if e < -10 { return sign }
            mantissa |= 0x80_0000
            let shift = UInt32(14 - e)
            var q = mantissa >> shift
            let rest = mantissa & ((1 << shift) - 1), halfway = UInt32(1) << (shift - 1)
            if rest > halfway || (rest == halfway && q & 1 == 1) { q += 1 }
            return sign | UInt16(q)
        }
        // Normal: drop 13 mantissa bits, rounding to nearest even; a carry may step the exponent
        // (up to infinity), which is the correct result.
        var h = UInt32(e) << 10 | (mantissa >> 13)
        let rest = mantissa & 0x1FFF
        if rest > 0x1000 || (rest == 0x1000 && h & 1 == 1) { h += 1 }
        return sign | UInt16(h)
    }
}
