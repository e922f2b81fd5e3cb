/// Element types a safetensors header may name (docs/formats.md, safetensors; huggingface/safetensors `Dtype`).
///
/// All of them are "known": a file using any of them opens and validates. Only `F32`, `F16` and `BF16`
/// can be widened to `Float` by ``SafeTensorsFile/readFloat32(_:into:count:)``; other types are reachable
/// as raw bytes through ``SafeTensorsFile/rawBytes(_:)``.
public enum DType: String, Sendable, CaseIterable, Hashable {
    case bool = "BOOL"
    case f4 = "F4"
    case f6E2M3 = "F6_E2M3"
    case f6E3M2 = "F6_E3M2"
    case u8 = "U8"
    case i8 = "I8"
    case f8E5M2 = "F8_E5M2"
    case f8E4M3 = "F8_E4M3"
    case f8E8M0 = "F8_E8M0"
    case f8E4M3FNUZ = "F8_E4M3FNUZ"
    case f8E5M2FNUZ = "F8_E5M2FNUZ"
    case i16 = "I16"
    case u16 = "U16"
    case f16 = "F16"
    case bf16 = "BF16"
    case i32 = "I32"
    case u32 = "U32"
    case f32 = "F32"
    case c64 = "C64"
    case f64 = "F64"
    case i64 = "I64"
    case u64 = "U64"

    /// Bits per element. `BOOL` is stored as one byte.
    public var bitSize: Int {
        switch self {
        case .f4: return 4
        case .f6E2M3, .f6E3M2: return 6
        case .bool, .u8, .i8, .f8E5M2, .f8E4M3, .f8E8M0, .f8E4M3FNUZ, .f8E5M2FNUZ: return 8
        case .i16, .u16, .f16, .bf16: return 16
        case .i32, .u32, .f32: return 32
        case .c64, .f64, .i64, .u64: return 64
        }
    }

    /// Bytes per element, or `nil` for the sub-byte types (`F4`, `F6_*`) whose elements are packed.
    public var byteSize: Int? {
        bitSize % 8 == 0 ? bitSize / 8 : nil
    }

    /// Position in the reference library's `Dtype` enum. Writers sort tensors by *descending* rank,
    /// then by name, so that wider (more strictly aligned) types come first in the data buffer.
    /// The order is the declaration order above, which mirrors huggingface/safetensors `tensor.rs`.
    var writeRank: Int {
        DType.allCases.firstIndex(of: self)!
    }
}
