#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file mapped read-only (`PROT_READ`, `MAP_PRIVATE`); unmapped in `deinit`.
///
/// Mapping costs no memory up front: pages are read from the page cache only when touched, so tensors
/// that are never used are never read (SWIFT-NOTES §5: RSS unchanged after mapping a 512 MiB file).
public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let bytes: UnsafeRawBufferPointer
    private let mapping: UnsafeMutableRawPointer?

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SafeTensorsError.cannotOpen(path: path, reason: errnoText()) }
        defer { close(fd) }  // the mapping stays valid after the descriptor is closed
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SafeTensorsError.cannotOpen(path: path, reason: errnoText()) }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw SafeTensorsError.cannotOpen(path: path, reason: "not a regular file")
        }
        let size = Int(st.st_size)
        if size == 0 {
            // mmap rejects zero-length mappings; an empty file is reported by header validation.
            mapping = nil
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw SafeTensorsError.mapFailed(path: path, reason: errnoText())
        }
        mapping = p
        bytes = UnsafeRawBufferPointer(start: p, count: size)
    }

    deinit {
        if let mapping { munmap(mapping, bytes.count) }
    }
}

func errnoText() -> String {
    String(cString: strerror(errno))
}
