import GGUF
import SafeTensors

/// The type of the 2-D weights of a merged GGUF export (`--dtype` with `--format gguf`). Norms and RoPE
/// factors are always F32, as llama.cpp's converter writes them.
public enum GGUFOutputType: String, Sendable, CaseIterable {
    case f32, f16, bf16
    case q8_0 = "q8_0"

    /// Parses `f32`, `f16`, `bf16` (with the same aliases as safetensors exports) and `q8_0`.
    public init?(argument: String) {
        if argument.lowercased() == "q8_0" {
            self = .q8_0
            return
        }
        switch ExportDType(argument: argument) {
        case .f32: self = .f32
        case .f16: self = .f16
        case .bf16: self = .bf16
        default: return nil
        }
    }

    var ggmlType: GGMLType {
        switch self {
        case .f32: return .f32
        case .f16: return .f16
        case .bf16: return .bf16
        case .q8_0: return .q8_0
        }
    }

    /// `general.file_type` (llama.cpp's `llama_ftype`: ALL_F32 0, MOSTLY_F16 1, MOSTLY_Q8_0 7, MOSTLY_BF16 32).
    var fileType: UInt32 {
        switch self {
        case .f32: return 0
        case .f16: return 1
        case .q8_0: return 7
        case .bf16: return 32
        }
    }
}

/// fp32 rows → the bytes of a GGUF tensor type (rounded once, to nearest even; Q8_0 as ggml quantizes).
enum GGUFEncoding {
    /// Encodes `rows × columns` values; returns how many finite values overflowed to infinity (F16 only).
    static func encode(_ src: UnsafePointer<Float>, rows: Int, columns: Int, as type: GGMLType, into dst: UnsafeMutableRawPointer) -> Int {
        let count = rows * columns
        switch type {
        case .f32: return FloatCoding.narrow(src, into: dst, .f32, count: count)
        case .f16: return FloatCoding.narrow(src, into: dst, .f16, count: count)
        case .bf16: return FloatCoding.narrow(src, into: dst, .bf16, count: count)
        case .q8_0:
            Q8_0Quantizer.quantize(src, count: count, into: dst)
            return 0
        default:
            preconditionFailure("GGUF export writes F32, F16, BF16 and Q8_0 only, not \(type)")
        }
    }
}
