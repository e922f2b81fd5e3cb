import Foundation

/// A recipe problem, naming the file and the key (as a dotted path such as `lora.rank`).
public struct RecipeError: LocalizedError, Sendable {
    public let file: String
    public let key: String
    public let message: String

    public init(file: String, key: String, _ message: String) {
        self.file = file
        self.key = key
        self.message = message
    }

    public var errorDescription: String? {
        key.isEmpty ? "\(file): \(message)" : "\(file): \"\(key)\": \(message)"
    }
}
