import CBLAS
import CKernels

/// What this machine computes with, detected at run time: the CPU's vector features (cpuid, and
/// whether the OS enables their registers) and the kernel family OpenBLAS chose for it.
///
/// OpenBLAS picks its kernels from cpuid too, unless `OPENBLAS_CORETYPE` overrides it (an old OpenBLAS on
/// a new CPU is sometimes told `Haswell`, which halves its rate on AVX-512 machines) — so benchmarks
/// print `blasCore` beside every figure.
public struct CPUInfo: Sendable {
    public let brand: String
    public let avx2: Bool
    public let fma: Bool
    public let avx512f: Bool
    public let avx512bf16: Bool
    public let avx512vnni: Bool
    /// AMX tiles (AMX-TILE) with the OS saving their state.
    public let amx: Bool
    /// AMX-BF16 (TDPBF16PS) on top of `amx`.
    public let amxBF16: Bool
    /// `openblas_get_corename()`, e.g. "Cooperlake", "SapphireRapids", "Haswell", "Zen".
    public let blasCore: String

    public static let current = CPUInfo()

    init() {
        var f = ck_cpu_features()
        ck_detect_cpu(&f)
        let brandBytes = withUnsafeBytes(of: f.brand) { Array($0.prefix { $0 != 0 }) }
        brand = String(decoding: brandBytes, as: UTF8.self).trimmingCharacters(in: " ")
        avx2 = f.avx2 != 0; fma = f.fma != 0; avx512f = f.avx512f != 0
        avx512bf16 = f.avx512bf16 != 0; avx512vnni = f.avx512vnni != 0; amx = f.amx != 0; amxBF16 = f.amxbf16 != 0
        blasCore = openblas_get_corename().map { String(cString: $0) } ?? "unknown"
    }

    /// Feature names present, in a fixed order (`bench --json` "cpu_features").
    public var featureNames: [String] {
        [("avx2", avx2), ("fma", fma), ("avx512f", avx512f), ("avx512_bf16", avx512bf16), ("avx512_vnni", avx512vnni), ("amx", amx), ("amx_bf16", amxBF16)]
            .filter(\.1).map(\.0)
    }

    /// One line for headers: `Intel(R) Xeon(R) …; avx2 fma avx512f avx512_bf16 …; OpenBLAS kernels SapphireRapids`.
    public var summary: String {
        let features = featureNames.isEmpty ? "no AVX2" : featureNames.joined(separator: " ")
        return "\(brand.isEmpty ? "unknown CPU" : brand); \(features); OpenBLAS kernels \(blasCore)"
    }
}

private extension String {
    func trimmingCharacters(in set: Character) -> String {
        var s = Substring(self)
        while s.first == set { s = s.dropFirst() }
        while s.last == set { s = s.dropLast() }
        return String(s)
    }
}
