/// Bulk conversions between fp32 and the 16-bit float formats of model files (REFERENCE §1.9).
/// Plain pointer loops: the compiler vectorises them (SWIFT-NOTES §4: ~0.25 ns/element).

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
    for i in 0..<count { dst[i] = Float(bitPattern: UInt32(src[i]) &<< 16) }
}

public func convertFloatToBF16(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<UInt16>, count: Int) {
    for i in 0..<count { dst[i] = floatToBF16(src[i]) }
}

public func convertF16ToFloat(_ src: UnsafePointer<UInt16>, _ dst: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count { dst[i] = Float(Float16(bitPattern: src[i])) }
}

/// IEEE half, round to nearest even (Swift's `Float16(_:)` conversion).
public func convertFloatToF16(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<UInt16>, count: Int) {
    for i in 0..<count { dst[i] = Float16(src[i]).bitPattern }
}
