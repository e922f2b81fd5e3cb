import Foundation

/// Everything that can be wrong with a GGUF file. Each case names the file and, where one is
/// involved, the metadata key or tensor, so the message alone says what to fix or re-download.
public enum GGUFError: LocalizedError, Sendable, Equatable {
    case notGGUF(path: String, found: [UInt8])
    case bigEndian(path: String)
    case unsupportedVersion(path: String, version: UInt32)
    /// The file ends inside `what`, which starts at byte `offset`.
    case truncated(path: String, what: String, offset: Int)
    case countTooLarge(path: String, what: String, count: UInt64, limit: Int)
    case invalidString(path: String, what: String, offset: Int)
    case unknownValueType(path: String, key: String, type: UInt32)
    case duplicateKey(path: String, key: String)
    case badMetadata(path: String, key: String, reason: String)
    case duplicateTensor(path: String, tensor: String)
    case invalidTensor(path: String, tensor: String, reason: String)
    case unknownTensorType(path: String, tensor: String, type: UInt32)
    case overlappingTensors(path: String, first: String, second: String)
    /// A tensor type this program cannot dequantize (the file itself is valid).
    case unsupportedTensorType(path: String, tensor: String, type: GGMLType)

    public var errorDescription: String? {
        switch self {
        case .notGGUF(let path, let found):
            return "\(path): not a GGUF file: it starts with \(found.map { String(format: "%02x", $0) }.joined(separator: " ")), not \"GGUF\". Is this the right file, and was it downloaded completely?"
        case .bigEndian(let path):
            return "\(path): a big-endian GGUF file; only little-endian files (the llama.cpp default) are read. Convert it with gguf-convert-endian."
        case .unsupportedVersion(let path, let version):
            return "\(path): GGUF version \(version) is not supported (versions 2 and 3 are). Re-convert the model with a current llama.cpp."
        case .truncated(let path, let what, let offset):
            return "\(path): the file ends inside \(what) (which starts at byte \(offset)). The file is truncated or corrupt: download it again."
        case .countTooLarge(let path, let what, let count, let limit):
            return "\(path): \(what) is \(count), more than the \(limit) the rest of the file could hold. The file is corrupt."
        case .invalidString(let path, let what, let offset):
            return "\(path): \(what) at byte \(offset) is not valid UTF-8. The file is corrupt."
        case .unknownValueType(let path, let key, let type):
            return "\(path): metadata \"\(key)\" has unknown value type \(type) (known: 0–12). The file is corrupt or from a newer GGUF version."
        case .duplicateKey(let path, let key):
            return "\(path): metadata key \"\(key)\" appears twice. The file is corrupt."
        case .badMetadata(let path, let key, let reason):
            return "\(path): metadata \"\(key)\": \(reason)"
        case .duplicateTensor(let path, let tensor):
            return "\(path): tensor \"\(tensor)\" appears twice. The file is corrupt."
        case .invalidTensor(let path, let tensor, let reason):
            return "\(path): tensor \"\(tensor)\": \(reason)"
        case .unknownTensorType(let path, let tensor, let type):
            return "\(path): tensor \"\(tensor)\" has unknown ggml type id \(type). The file is corrupt or needs a newer reader."
        case .overlappingTensors(let path, let first, let second):
            return "\(path): the data of tensors \"\(first)\" and \"\(second)\" overlap. The file is corrupt."
        case .unsupportedTensorType(let path, let tensor, let type):
            return "\(path): tensor \"\(tensor)\" is \(type.name), which cannot be dequantized here (supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K). Use a file quantized to one of those, e.g. Q4_K_M or Q8_0."
        }
    }
}
