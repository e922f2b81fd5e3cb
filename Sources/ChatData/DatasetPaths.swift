import Foundation

/// Turns a dataset path from a recipe into the files it names: a file; a directory (its `.parquet`, `.jsonl`
/// and `.json` files); or a glob whose last component holds `*`, `?` or `[…]` (`data/train-*.parquet`, the
/// Hugging Face Hub's shard names). Directories and globs are read in byte order of the file names, so shard
/// `00000-of-00003` comes first.
public enum DatasetPaths {
    static let dataExtensions: Set<String> = ["parquet", "jsonl", "json"]

    public static func expand(_ path: String) throws -> [String] {
        let url = URL(fileURLWithPath: path)
        let name = url.lastPathComponent
        if name.contains(where: { "*?[".contains($0) }) {
            let folder = url.deletingLastPathComponent().path
            let matches = try entries(of: folder, for: path).filter { fnmatch(name, $0, FNM_PERIOD) == 0 }
            guard !matches.isEmpty else {
                throw ChatDataError.unreadableFile(path: path, reason: "no file in \(folder) matches \(name)")
            }
            return matches.map { url.deletingLastPathComponent().appendingPathComponent($0).path }
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            return [path]
        }
        let files = try entries(of: path, for: path).filter {
            !$0.hasPrefix(".") && dataExtensions.contains(URL(fileURLWithPath: $0).pathExtension.lowercased())
        }
        guard !files.isEmpty else {
            throw ChatDataError.unreadableFile(path: path, reason: "the directory holds no .parquet, .jsonl or .json file")
        }
        return files.map { url.appendingPathComponent($0).path }
    }

    /// Names in `folder`, sorted by their UTF-8 bytes.
    private static func entries(of folder: String, for path: String) throws -> [String] {
        do {
            return try FileManager.default.contentsOfDirectory(atPath: folder).sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        } catch {
            throw ChatDataError.unreadableFile(path: path, reason: (error as NSError).localizedDescription)
        }
    }
}
