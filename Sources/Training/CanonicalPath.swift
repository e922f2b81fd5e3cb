import Foundation

/// Paths compared by what they name, not how they are spelled: two spellings of one folder
/// (`./runs/../runs/a`, a symlink to it) must count as the same when deciding whether a write would
/// land on an input.
public enum CanonicalPath {
    /// Absolute, with `.`/`..` and symlinks resolved (for the deepest part that exists).
    public static func of(_ path: String) -> String {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        var url = URL(fileURLWithPath: absolute).standardized
        var tail: [String] = []
        while !FileManager.default.fileExists(atPath: url.path) && url.path != "/" {
            tail.insert(url.lastPathComponent, at: 0)
            url.deleteLastPathComponent()
        }
        var resolved = url.resolvingSymlinksInPath().path
        for part in tail { resolved = (resolved as NSString).appendingPathComponent(part) }
        return resolved
    }

    /// Whether `inner` is `outer` or lies inside it (both canonical).
    public static func isSameOrInside(_ inner: String, _ outer: String) -> Bool {
        inner == outer || outer == "/" || inner.hasPrefix(outer + "/")
    }
}
