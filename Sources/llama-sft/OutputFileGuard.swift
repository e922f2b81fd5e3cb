import Foundation
import Training

/// The rule for every file a command writes (`data --dump`, `logits --out`): it never replaces one of
/// the command's own inputs, and never an existing file unless the user passed `--force`.
enum OutputFileGuard {
    /// Throws before any work is done when `path` is one of `inputs` (or lies inside an input folder),
    /// names a directory, or exists without `force`. Paths are compared after resolving symlinks, so
    /// `./data/../data/train.jsonl` and a link to it count as the same file.
    static func check(_ path: String, flag: String, force: Bool, inputs: [String]) throws {
        let target = CanonicalPath.of(path)
        for input in inputs.map(CanonicalPath.of) where CanonicalPath.isSameOrInside(target, input) {
            throw ToolError("--\(flag) \(path): that is an input of this command (\(input)); writing there would destroy it. Choose another file.")
        }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { return }
        if isDir.boolValue { throw ToolError("--\(flag) \(path): a directory with this name exists; give a file name") }
        if !force { throw ToolError("--\(flag) \(path): the file exists; pass --force to replace it, or choose another name") }
    }
}
