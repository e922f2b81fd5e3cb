/// Conversions between fp32 and the 16-bit float formats of model files (bf16 here, fp16 in
/// HalfFloat.swift). Plain pointer loops: the compiler vectorises them (~0.1–0.25 ns/element measured
/// by `llama-sft bench kernels`).

/// bfloat16 is the top half of an fp32 bit pattern, so widening is exact: `bits << 16`.
@inline(__always)
public func bf16ToFloat(_ h: UInt16) -> Float { Float(bitPattern: UInt32(h) &<< 16) }

/// Round to nearest even; NaN stays a (quiet) NaN, overflow rounds to infinity.
@inline(__always)
public func floatToBF16(_ f: Float) -> UInt16 {
    let b = f.bitPattern
    let rounded = UInt16(truncatingIfNeeded: (b &+ 0x7FFF &+ ((b &>> 16) & 1)) &>> 16)
    let nan = UInt16(truncatingIfNeeded: b &>> 16) | 0x0040
    return (b & 0x7FFF_FFFF) > 0x7F80_0000 ? nan : rounded
}

public func convertBF16ToFloat(_ src: UnsafePointer<UInt16>, _ dst: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count { dst[i] = bf16ToFloat(src[i]) }
}

public func convertFloatToBF16(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<UInt16>, count: Int) {
    for i in 0..<count { dst[i] = floatToBF16(src[i]) }
}

public func convertF16ToFloat(_ src: UnsafePointer<UInt16>, _ dst: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count { dst[i] = f16ToFloat(src[i]) }
}

/// IEEE half, round to nearest even.
public func convertFloatToF16(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<UInt16>, count: Int) {
    for i in 0..<count { dst[i] = floatToF16(src[i]) }
}
