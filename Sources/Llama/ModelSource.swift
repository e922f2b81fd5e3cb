import Foundation

/// Where a base model comes from: a Hugging Face model directory or a single GGUF file.
///
/// The one place that tells them apart; `LlamaConfig.load(path:)`, `LlamaWeights.load(directory:)` and
/// `LlamaModel.load(directory:)` dispatch on it, so every command accepts either.
public enum ModelSource: Sendable, Equatable {
    case huggingFace(directory: String)
    case gguf(path: String)

    /// A path ending in `.gguf`, or a regular file starting with the GGUF magic, is a GGUF file;
    /// anything else is taken as a model directory.
    public init(path: String) {
        if path.lowercased().hasSuffix(".gguf") || ModelSource.startsWithGGUFMagic(path) {
            self = .gguf(path: path)
        } else {
            self = .huggingFace(directory: path)
        }
    }

    public var path: String {
        switch self {
        case .huggingFace(let directory): return directory
        case .gguf(let path): return path
        }
    }

    public var isGGUF: Bool {
        if case .gguf = self { return true }
        return false
    }

    private static func startsWithGGUFMagic(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
              let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        return (try? handle.read(upToCount: 4)) == Data("GGUF".utf8)
    }
}
