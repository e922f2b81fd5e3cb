import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Resident-set figures of this process from `/proc/self/status` (Linux; nil elsewhere).
public enum ProcessMemory {
    /// Current resident set (`VmRSS`) in bytes.
    public static var residentBytes: Int? { field("VmRSS") }
    /// Peak resident set so far (`VmHWM`) in bytes.
    public static var peakResidentBytes: Int? { field("VmHWM") }
    /// Current resident set in MiB, for reports (0 where unknown).
    public static var residentMiB: Double { Double(residentBytes ?? 0) / 1_048_576 }
    /// Peak resident set so far in MiB, for reports (0 where unknown).
    public static var peakResidentMiB: Double { Double(peakResidentBytes ?? 0) / 1_048_576 }

    /// Memory the system can give this process now without swapping (`MemAvailable` of `/proc/meminfo`,
    /// capped by a cgroup limit if one is set); elsewhere the physical memory.
    public static var availableBytes: Int? {
        #if os(Linux)
        guard let available = field("MemAvailable", in: "/proc/meminfo") else { return nil }
        if let limit = (try? String(contentsOfFile: "/sys/fs/cgroup/memory.max", encoding: .utf8)).flatMap({ Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }),
           let used = (try? String(contentsOfFile: "/sys/fs/cgroup/memory.current", encoding: .utf8)).flatMap({ Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) {
            return min(available, max(0, limit - used))
        }
        return available
        #else
        return Int(clamping: ProcessInfo.processInfo.physicalMemory)
        #endif
    }

    private static func field(_ name: String, in file: String = "/proc/self/status") -> Int? {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(name + ":") {
            let kb = line.dropFirst(name.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" }).first.flatMap { Int($0) }
            return kb.map { $0 * 1024 }
        }
        return nil
    }
}

extension ProcessMemory {
    /// Hands memory that has been freed but kept by the allocator back to the system (glibc `malloc_trim`,
    /// looked up at run time; a no-op elsewhere).
    ///
    /// Why: glibc raises its mmap threshold after the first large free, so later tensor buffers of up to
    /// 32 MB come from the heap and their pages stay resident after `free` — exporting a 1.5 GB model crept
    /// up by ~90 MB without this. Called once per tensor written, it costs microseconds.
    public static func releaseFreedMemory() {
        #if canImport(Glibc)
        _ = mallocTrim?(0)
        #endif
    }

    #if canImport(Glibc)
    private static let mallocTrim: (@convention(c) (Int) -> Int32)? = {
        guard let symbol = dlsym(nil, "malloc_trim") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
    }()
    #endif
}
