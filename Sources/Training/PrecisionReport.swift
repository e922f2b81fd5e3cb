import Tensors

/// The header line that says what the run computes with: the CPU, its features, OpenBLAS's kernels,
/// and the precision (with the reason when `auto` chose it).
public enum PrecisionReport {
    public static func line(_ requested: Precision, cpu: CPUInfo = .current) -> String {
        let used = requested.resolved(for: cpu)
        var precision = "precision \(used.rawValue)"
        if requested == .auto { precision += cpu.avx512bf16 ? " (auto: the CPU has AVX512_BF16)" : " (auto: no AVX512_BF16 on this CPU)" }
        if used == .bf16 { precision += ", bf16 kernel \(BF16Kernel.best.rawValue)" }
        if used == .bf16 && !cpu.avx512bf16 { precision += " (slow: this CPU has no AVX512_BF16; fp32 is faster here)" }
        return "\(cpu.summary); \(precision)"
    }
}
