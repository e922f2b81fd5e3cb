import Foundation

/// A plain user-facing error message from a subcommand.
struct ToolError: LocalizedError {
    let message: String
    init(_ message: String) { self.message = message }
    var errorDescription: String? { message }
}
