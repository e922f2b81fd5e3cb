#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Hands the whole pages inside `[start, start + byteCount)` of a read-only file mapping back to the
/// system (`MADV_DONTNEED`): they leave the resident set, and a later read would fault them in from
/// the file again, so the mapping stays valid. Partial pages at either end are left alone (they hold
/// neighbouring data). Only for `PROT_READ`, `MAP_PRIVATE` file mappings: on anonymous memory this
/// would zero the pages.
func releaseMappedPages(_ start: UnsafeRawPointer, byteCount: Int) {
    let page = Int(sysconf(Int32(_SC_PAGESIZE)))
    guard page > 0 else { return }
    let first = (Int(bitPattern: start) + page - 1) / page * page
    let end = (Int(bitPattern: start) + byteCount) / page * page
    guard end > first, let p = UnsafeMutableRawPointer(bitPattern: first) else { return }
    _ = madvise(p, end - first, Int32(MADV_DONTNEED))
}
