import Foundation

/// Errors from reading a model directory or an adapter: each names the file and key or tensor.
public enum LlamaError: LocalizedError, Sendable {
    case unreadable(path: String, reason: String)
    case missingKey(file: String, key: String, hint: String)
    case badValue(file: String, key: String, reason: String)
    case unsupported(file: String, what: String)
    case missingTensor(file: String, name: String)
    case wrongShape(file: String, name: String, expected: [Int], found: [Int])
    case unsupportedDType(file: String, name: String, dtype: String)
    case adapterMismatch(file: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case .unreadable(let path, let reason):
            return "\(path): \(reason)"
        case .missingKey(let file, let key, let hint):
            return "\(file): required key \"\(key)\" is missing. \(hint)"
        case .badValue(let file, let key, let reason):
            return "\(file): key \"\(key)\": \(reason)"
        case .unsupported(let file, let what):
            return "\(file): not supported: \(what)"
        case .missingTensor(let file, let name):
            return "\(file): tensor \"\(name)\" is missing; the config needs it. Is this the right model directory, and is it complete?"
        case .wrongShape(let file, let name, let expected, let found):
            return "\(file): tensor \"\(name)\" has shape \(found) but the config implies \(expected)"
        case .unsupportedDType(let file, let name, let dtype):
            return "\(file): tensor \"\(name)\" has dtype \(dtype); only F32, BF16 and F16 base weights are supported"
        case .adapterMismatch(let file, let reason):
            return "\(file): \(reason)"
        }
    }
}
