import Foundation

/// Locates `../shared` (golden outputs and test assets) for the test suites.
///
/// Order: the `LLAMA_SFT_SHARED` environment variable; then the first ancestor of the calling source
/// file that has a `shared/golden` folder (the project's `../shared` when run from the repo); then
/// `/work/shared`, where this workplace and its CI keep the same files.
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

    /// `shared/<relative>`; throws a clear error when the shared folder cannot be found.
    public static func path(_ relative: String, file: String = #filePath) throws -> URL {
        guard let root = root(file: file) else { throw MissingShared(relative: relative) }
        return root.appendingPathComponent(relative)
    }

    public struct MissingShared: Error, CustomStringConvertible {
        public let relative: String
        public var description: String {
            "cannot find ../shared/\(relative): set LLAMA_SFT_SHARED to the folder holding golden/ and assets/"
        }
    }
}
