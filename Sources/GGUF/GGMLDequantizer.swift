import SafeTensors
import Tensors

/// ggml block formats → fp32, exactly as ggml's `dequantize_row_*` (ggml-quants.c) and the `gguf`
/// package's numpy dequantizers compute them: every product is one fp32 multiply, in their order, with
/// no fused multiply-add, so the results are bit for bit theirs.
///
/// Block layouts (little-endian; `d`, `m`, `dmin` are f16 scales):
/// - Q8_0 (34 bytes / 32): d, 32 × int8 q → d·q
/// - Q4_0 (18 / 32): d, 16 bytes; element j < 16 is the low nibble of byte j, element j + 16 its high
///   nibble → d·(q − 8)
/// - Q4_1 (20 / 32): d, m, nibbles as Q4_0 → d·q + m
/// - Q5_0 (22 / 32): d, u32 high bits (bit j for element j), nibbles as Q4_0 → d·((q | h<<4) − 16)
/// - Q5_1 (24 / 32): d, m, high bits, nibbles → d·(q | h<<4) + m
/// - Q4_K (144 / 256): d, dmin, 12 bytes of 6-bit scales and mins for 8 sub-blocks of 32, 128 bytes of
///   nibbles (sub-block 2k: low nibbles of bytes 32k..<32k+32, sub-block 2k+1: their high nibbles)
///   → (d·sc)·q − (dmin·min)
/// - Q5_K (176 / 256): as Q4_K plus 32 bytes of high bits (bit k of byte l is the 5th bit of element 32k + l)
/// - Q6_K (210 / 256): 128 bytes of low nibbles, 64 bytes of 2-bit highs, 16 int8 scales (one per 16
///   elements), d → (d·sc)·(q − 32)
public enum GGMLDequantizer {
    /// Dequantizes `count` elements (a whole number of blocks) of `type` from `src` into `dst`.
    public static func dequantize(_ type: GGMLType, from src: UnsafeRawPointer, to dst: UnsafeMutablePointer<Float>, count: Int) {
        precondition(type.isDequantizable, "GGMLDequantizer: \(type.name) has no dequantizer")
        precondition(count % type.blockSize == 0, "GGMLDequantizer: \(count) elements is not a whole number of \(type.name) blocks")
        let blocks = count / type.blockSize, size = type.bytesPerBlock
        switch type {
        case .f32: FloatWidening.f32(src, dst, count)
        case .f16: FloatWidening.f16(src, dst, count)
        case .bf16: FloatWidening.bf16(src, dst, count)
        case .q8_0: for b in 0..<blocks { q8_0(src + b * size, dst + b * 32) }
        case .q4_0: for b in 0..<blocks { q4_0(src + b * size, dst + b * 32) }
        case .q4_1: for b in 0..<blocks { q4_1(src + b * size, dst + b * 32) }
        case .q5_0: for b in 0..<blocks { q5_0(src + b * size, dst + b * 32) }
        case .q5_1: for b in 0..<blocks { q5_1(src + b * size, dst + b * 32) }
        case .q4_K: for b in 0..<blocks { q4_K(src + b * size, dst + b * 256) }
        case .q5_K: for b in 0..<blocks { q5_K(src + b * size, dst + b * 256) }
        case .q6_K: for b in 0..<blocks { q6_K(src + b * size, dst + b * 256) }
        default: preconditionFailure("unreachable: checked by isDequantizable")
        }
    }

    @inline(__always) private static func half(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
        f16ToFloat(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    }

    @inline(__always) private static func byte(_ p: UnsafeRawPointer, _ offset: Int) -> UInt8 {
        p.load(fromByteOffset: offset, as: UInt8.self)
    }

    @inline(__always) private static func q8_0(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(p, 0)
        for j in 0..<32 { y[j] = Float(Int8(bitPattern: byte(p, 2 + j))) * d }
    }

    @inline(__always) private static func q4_0(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(p, 0)
        for j in 0..<16 {
            let q = byte(p, 2 + j)
            y[j] = d * Float(Int(q & 0x0F) - 8)
            y[j + 16] = d * Float(Int(q >> 4) - 8)
        }
    }

    @inline(__always) private static func q4_1(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(p, 0), m = half(p, 2)
        for j in 0..<16 {
            let q = byte(p, 4 + j)
            y[j] = d * Float(q & 0x0F) + m
            y[j + 16] = d * Float(q >> 4) + m
        }
    }

    @inline(__always) private static func q5_0(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(p, 0)
        let h = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
        for j in 0..<16 {
            let q = byte(p, 6 + j)
            let lo = Int(q & 0x0F) | Int((h >> UInt32(j)) & 1) << 4
            let hi = Int(q >> 4) | Int((h >> UInt32(j + 16)) & 1) << 4
            y[j] = d * Float(lo - 16)
            y[j + 16] = d * Float(hi - 16)
        }
    }

    @inline(__always) private static func q5_1(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(p, 0), m = half(p, 2)
        let h = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        for j in 0..<16 {
            let q = byte(p, 8 + j)
            let lo = UInt32(q & 0x0F) | ((h >> UInt32(j)) & 1) << 4
            let hi = UInt32(q >> 4) | ((h >> UInt32(j + 16)) & 1) << 4
            y[j] = d * Float(lo) + m
            y[j + 16] = d * Float(hi) + m
        }
    }

    /// The 6-bit scale and min of sub-block `j` (0..<8) of a Q4_K/Q5_K block (ggml `get_scale_min_k4`).
    @inline(__always) private static func scaleMin(_ s: UnsafeRawPointer, _ j: Int) -> (Float, Float) {
        if j < 4 {
            return (Float(byte(s, j) & 63), Float(byte(s, j + 4) & 63))
        }
        let sc = (byte(s, j + 4) & 0x0F) | ((byte(s, j - 4) >> 6) << 4)
        let mn = (byte(s, j + 4) >> 4) | ((byte(s, j) >> 6) << 4)
        return (Float(sc), Float(mn))
    }

    @inline(__always) private static func q4_K(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(p, 0), dmin = half(p, 2)
        let scales = p + 4, qs = p + 16
        for chunk in 0..<4 {  // 64 elements: low nibbles, then high nibbles of 32 bytes
            let (sc0, m0) = scaleMin(scales, 2 * chunk), (sc1, m1) = scaleMin(scales, 2 * chunk + 1)
            let d0 = d * sc0, min0 = dmin * m0, d1 = d * sc1, min1 = dmin * m1
            let out = y + 64 * chunk
            for l in 0..<32 {
                let q = byte(qs, 32 * chunk + l)
                out[l] = d0 * Float(q & 0x0F) - min0
                out[l + 32] = d1 * Float(q >> 4) - min1
            }
        }
    }

    @inline(__always) private static func q5_K(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(p, 0), dmin = half(p, 2)
        let scales = p + 4, qh = p + 16, qs = p + 48
        for chunk in 0..<4 {
            let (sc0, m0) = scaleMin(scales, 2 * chunk), (sc1, m1) = scaleMin(scales, 2 * chunk + 1)
            let d0 = d * sc0, min0 = dmin * m0, d1 = d * sc1, min1 = dmin * m1
            let out = y + 64 * chunk
            let bit0 = UInt8(2 * chunk), bit1 = UInt8(2 * chunk + 1)
            for l in 0..<32 {
                let q = byte(qs, 32 * chunk + l), h = byte(qh, l)
                let lo = (q & 0x0F) | ((h >> bit0) & 1) << 4
                let hi = (q >> 4) | ((h >> bit1) & 1) << 4
                out[l] = d0 * Float(lo) - min0
                out[l + 32] = d1 * Float(hi) - min1
            }
        }
    }

    @inline(__always) private static func q6_K(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let ql = p, qh = p + 128, sc = p + 192
        let d = half(p, 208)
        for half128 in 0..<2 {
            let l0 = ql + 64 * half128, h0 = qh + 32 * half128, s0 = 8 * half128
            let out = y + 128 * half128
            for l in 0..<32 {
                let h = byte(h0, l)
                let q1 = Int((byte(l0, l) & 0x0F) | (h & 3) << 4) - 32
                let q2 = Int((byte(l0, l + 32) & 0x0F) | ((h >> 2) & 3) << 4) - 32
                let q3 = Int((byte(l0, l) >> 4) | ((h >> 4) & 3) << 4) - 32
                let q4 = Int((byte(l0, l + 32) >> 4) | ((h >> 6) & 3) << 4) - 32
                let i = s0 + l / 16
                out[l] = (d * Float(Int8(bitPattern: byte(sc, i)))) * Float(q1)
                out[l + 32] = (d * Float(Int8(bitPattern: byte(sc, i + 2)))) * Float(q2)
                out[l + 64] = (d * Float(Int8(bitPattern: byte(sc, i + 4)))) * Float(q3)
                out[l + 96] = (d * Float(Int8(bitPattern: byte(sc, i + 6)))) * Float(q4)
            }
        }
    }
}
