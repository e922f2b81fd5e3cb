import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a file so that a crash never leaves a half-written file under the final name (DESIGN
/// "Writes are atomic"): write to a temporary name in the same folder, `fsync`, `rename` over the target,
/// then `fsync` the folder so the rename itself is durable.
public enum AtomicFile {
    /// Writes `data` to `path` atomically.
    public static func write(_ data: Data, to path: String) throws {
        try write(to: path) { sink in
            try data.withUnsafeBytes { try sink.write($0) }
        }
    }

    /// Streams content into `path` atomically: `body` writes through the sink; on success the file is
    /// synced and renamed into place, on failure the temporary file is removed and `path` is untouched.
    public static func write(to path: String, _ body: (FileSink) throws -> Void) throws {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        let temp = (folder as NSString).appendingPathComponent(
            ".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SafeTensorsError.writeFailed(path: path, reason: "cannot create \(temp): \(errnoText())") }
        var closed = false
        var renamed = false
        defer {
            if !closed { close(fd) }
            if !renamed { unlink(temp) }
        }
        try body(FileSink(fd: fd, path: path))
        guard fsync(fd) == 0 else { throw SafeTensorsError.writeFailed(path: path, reason: "fsync: \(errnoText())") }
        closed = true
        guard close(fd) == 0 else { throw SafeTensorsError.writeFailed(path: path, reason: "close: \(errnoText())") }
        guard rename(temp, path) == 0 else {
            throw SafeTensorsError.writeFailed(path: path, reason: "rename from \(temp): \(errnoText())")
        }
        renamed = true
        // Persist the directory entry; failure here does not undo a completed rename, so it is not an error.
        let dfd = open(folder.isEmpty ? "." : folder, O_RDONLY | O_CLOEXEC)
        if dfd >= 0 {
            _ = fsync(dfd)
            close(dfd)
        }
    }
}

/// The write end handed to streaming writers (safetensors, GGUF).
public struct FileSink {
    let fd: Int32
    let path: String

    /// Writes all of `bytes`, retrying short writes and `EINTR`.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard var p = bytes.baseAddress else { return }
        var remaining = bytes.count
        while remaining > 0 {
            let n = posixWrite(fd, p, remaining)
            if n < 0 {
                if errno == EINTR { continue }
                throw SafeTensorsError.writeFailed(path: path, reason: errnoText())
            }
            p += n
            remaining -= n
        }
    }

    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }
}

private func posixWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(fd, p, count)
    #else
    return Darwin.write(fd, p, count)
    #endif
}
