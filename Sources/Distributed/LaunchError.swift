import Foundation

/// Why a distributed job cannot start or go on; the text names the rank when it matters.
public struct LaunchError: LocalizedError, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var errorDescription: String? { message }
    public var description: String { message }
}
