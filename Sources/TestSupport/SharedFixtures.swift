import Foundation

/// Locates the reference-fixture folder (its `golden/` outputs and `assets/`) for the test suites;
/// docs/architecture.md ("Modules") says what it holds and why it lives outside the repository.
///
/// Order: the `LLAMA_SFT_SHARED` environment variable; then the first ancestor of the calling source
/// file that has a `shared/golden` folder (a `shared/` kept beside the checkout); then `/work/shared`,
/// where the project's CI machines keep the same files.
public enum SharedFixtures {
    public static func root(file: String = #filePath) -> URL? {
        let fm = FileManager.default
        if let env = ProcessInfo.processInfo.environment["LLAMA_SFT_SHARED"], !env.isEmpty {
            return URL(fileURLWithPath: env)
        }
        var dir = URL(fileURLWithPath: file).deletingLastPathComponent()
        while dir.path != "/" {
            let candidate = dir.appendingPathComponent("shared")
            if fm.fileExists(atPath: candidate.appendingPathComponent("golden").path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        let fallback = URL(fileURLWithPath: "/work/shared")
        return fm.fileExists(atPath: fallback.appendingPathComponent("golden").path) ? fallback : nil
    }

    /// `<fixture folder>/<relative>`; throws a clear error when the folder cannot be found.
    public static func path(_ relative: String, file: String = #filePath) throws -> URL {
        guard let root = root(file: file) else { throw MissingShared(relative: relative) }
        return root.appendingPathComponent(relative)
    }

    public struct MissingShared: Error, CustomStringConvertible {
        public let relative: String
        public var description: String {
            "cannot find shared/\(relative) beside the checkout: set LLAMA_SFT_SHARED to the folder holding golden/ and assets/ (docs/architecture.md)"
        }
    }
}
