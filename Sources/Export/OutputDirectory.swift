import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The export's destination, built in a hidden temporary folder beside it and renamed into place at the end
/// (docs/architecture.md, "Atomic writes"): an interrupted export never leaves a half model under the output name, and
/// with `--force` the old directory is removed only once the new one is complete and checked.
struct OutputDirectory {
    /// Where the export ends up.
    let finalPath: String
    /// Where it is being written.
    let temporaryPath: String

    /// Refuses an unusable `path` before any work is done: a file, a non-empty directory without `force`,
    /// or a directory that is (or contains) one of `inputs`; then creates the temporary folder.
    static func prepare(_ path: String, force: Bool, inputs: [String]) throws -> OutputDirectory {
        let fm = FileManager.default
        let final = absolutePath(path)
        let name = (final as NSString).lastPathComponent
        guard !name.isEmpty, final != "/" else { throw ExportError.badOutput(path: final, reason: "not a directory name") }
        for input in inputs.map(absolutePath) where input == final || input.hasPrefix(final + "/") {
            throw ExportError.badOutput(path: final, reason: "it holds an input of this export (\(input)); choose another --out")
        }
        let parent = (final as NSString).deletingLastPathComponent
        // First, as it may put a killed export's old directory back under the output name.
        removeAbandonedPartials(in: parent, name: name)
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: final, isDirectory: &isDir) {
            guard isDir.boolValue else { throw ExportError.badOutput(path: final, reason: "a file with this name exists") }
            let contents = (try? fm.contentsOfDirectory(atPath: final)) ?? []
            if !contents.isEmpty && !force { throw ExportError.outputNotEmpty(path: final) }
        }
        let temp = join(parent, ".\(name).partial-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        do {
            try fm.createDirectory(atPath: parent, withIntermediateDirectories: true)
            try fm.createDirectory(atPath: temp, withIntermediateDirectories: false)
        } catch {
            throw ExportError.badOutput(path: final, reason: "cannot create \(temp): \(error.localizedDescription)")
        }
        return OutputDirectory(finalPath: final, temporaryPath: temp)
    }

    /// Moves the finished temporary folder to the final path, replacing what is there (already vetted by
    /// `prepare`): the old directory is first renamed aside, so at every moment the final path holds
    /// either the complete old export or the complete new one.
    func install() throws {
        let fm = FileManager.default
        let parent = (finalPath as NSString).deletingLastPathComponent
        var aside: String?
        if fm.fileExists(atPath: finalPath) {
            let old = join(parent, ".\((finalPath as NSString).lastPathComponent).replaced-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
            guard rename(finalPath, old) == 0 else {
                throw ExportError.writeFailed(path: finalPath, reason: "cannot move the old directory aside: \(String(cString: strerror(errno)))")
            }
            aside = old
        }
        guard rename(temporaryPath, finalPath) == 0 else {
            let reason = String(cString: strerror(errno))
            if let aside { _ = rename(aside, finalPath) }
            throw ExportError.writeFailed(path: finalPath, reason: "cannot rename \(temporaryPath) into place: \(reason)")
        }
        syncDirectory(parent)
        if let aside { try? fm.removeItem(atPath: aside) }
    }

    /// Cleans up after exports that were killed (their process is gone), so a crashed export does not
    /// leave gigabytes behind for good: `.NAME.partial-PID-*` folders (unfinished new exports) are
    /// deleted; a `.NAME.replaced-PID-*` folder (an old export set aside by `install`) is deleted when
    /// NAME exists, and renamed back to NAME when the kill came between the two renames, so the old
    /// export is never lost. Folders of a live process are kept.
    static func removeAbandonedPartials(in parent: String, name: String) {
        let fm = FileManager.default
        let final = join(parent, name)
        for entry in (try? fm.contentsOfDirectory(atPath: parent)) ?? [] {
            let kind = [".\(name).partial-", ".\(name).replaced-"].first { entry.hasPrefix($0) }
            guard let prefix = kind, let pid = Int32(entry.dropFirst(prefix.count).prefix { $0 != "-" }), pid > 0,
                  kill(pid, 0) != 0 && errno == ESRCH else { continue }
            let path = join(parent, entry)
            if prefix.hasSuffix(".replaced-") && !fm.fileExists(atPath: final), rename(path, final) == 0 { continue }
            try? fm.removeItem(atPath: path)
        }
    }

    /// Removes the temporary folder (after a failure).
    func discard() {
        try? FileManager.default.removeItem(atPath: temporaryPath)
    }

    private func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd >= 0 {
            _ = fsync(fd)
            close(fd)
        }
    }
}
