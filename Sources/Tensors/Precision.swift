/// How the frozen-base products are computed (recipe `train.precision`, `bench --precision`).
///
/// `fp32` is exact single precision through OpenBLAS. `bf16` is mixed precision as
/// `torch.autocast("cpu", torch.bfloat16)` applies it to linear layers: x·Wᵀ and dY·W take bf16 operands,
/// accumulate in fp32 and return fp32; everything else (LoRA A/B and their gradients, norms, attention,
/// loss, optimizer) stays fp32. `auto` is bf16 where the CPU has AVX512_BF16, else fp32. See docs/precision.md.
public enum Precision: String, Sendable, CaseIterable, Codable {
    case fp32, bf16, auto

    /// `auto` decided for this CPU; fp32 and bf16 are returned as they are.
    public func resolved(for cpu: CPUInfo = .current) -> Precision {
        self == .auto ? (cpu.avx512bf16 ? .bf16 : .fp32) : self
    }
}
