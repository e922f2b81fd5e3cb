import Foundation
import SafeTensors
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads base-model tensor bytes with `pread`, one slice at a time.
///
/// The files are opened (and validated) through ``SafeTensorsCollection``; the bytes are then read with
/// `pread` rather than through the memory mapping because every mapped page an export touches would stay
/// in the process's resident set: streaming a 16 GB base through the mapping shows as 16 GB of RSS, while
/// `pread` goes through the page cache the kernel can drop at will (measured: peak RSS well under a
/// quarter of the model).
final class RawTensorReader {
    private let files: SafeTensorsCollection
    private var descriptors: [String: (fd: Int32, dataStart: Int)] = [:]

    init(files: SafeTensorsCollection) {
        self.files = files
    }

    deinit {
        for (_, entry) in descriptors { close(entry.fd) }
    }

    /// Reads `count` bytes of tensor `name`, starting `byteOffset` bytes into it, into `dst`.
    func read(_ name: String, byteOffset: Int = 0, count: Int, into dst: UnsafeMutableRawPointer) throws {
        let file = try files.file(for: name)
        guard let info = file.info(name) else {
            throw SafeTensorsError.tensorNotFound(path: file.path, tensor: name)
        }
        precondition(byteOffset >= 0 && byteOffset + count <= info.byteCount, "read past the end of \(name)")
        let (fd, dataStart) = try descriptor(for: file.path)
        var done = 0
        while done < count {
            let n = pread(fd, dst + done, count - done, off_t(dataStart + info.byteRange.lowerBound + byteOffset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw SafeTensorsError.cannotOpen(path: file.path, reason: "read of tensor \(name): \(String(cString: strerror(errno)))")
            }
            if n == 0 {
                throw SafeTensorsError.cannotOpen(path: file.path, reason: "the file ended while reading tensor \(name) (was it truncated during the export?)")
            }
            done += n
        }
    }

    /// The descriptor of `path` and the offset of its data buffer (8 + header length, docs/formats.md, safetensors).
    private func descriptor(for path: String) throws -> (Int32, Int) {
        if let entry = descriptors[path] { return entry }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SafeTensorsError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        var length: UInt64 = 0
        let n = withUnsafeMutableBytes(of: &length) { pread(fd, $0.baseAddress, 8, 0) }
        guard n == 8 else {
            close(fd)
            throw SafeTensorsError.cannotOpen(path: path, reason: "cannot read the header length")
        }
        // The header was validated when the collection opened the file, so the length is sane.
        let entry = (fd, 8 + Int(UInt64(littleEndian: length)))
        descriptors[path] = entry
        return entry
    }
}
