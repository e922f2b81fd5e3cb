import Dispatch

/// Time per kind of work in a training step, for `bench --profile`: ops wrap their work in
/// `measure(kind)`; nested measurements are charged to the innermost kind only (a LoRA op's frozen
/// product counts as frozen GEMM, not LoRA). Off by default (one branch per call); only ever used from
/// the thread that drives the step.
public enum WorkProfile {
    public enum Kind: Int, CaseIterable, Sendable {
        case frozenForward, frozenBackward, bf16Repack, lora, lmHeadLoss, optimizer

        public var label: String {
            switch self {
            case .frozenForward: return "frozen GEMM forward (x·Wᵀ; in bf16 the LM head's too)"
            case .frozenBackward: return "frozen GEMM backward (dY·W; in bf16 the LM head's too)"
            case .bf16Repack: return "bf16 dY·W panels rebuilt from the x·Wᵀ panels"
            case .lora: return "LoRA (adapter GEMMs, dropout)"
            case .lmHeadLoss: return "LM head + loss forward (fp32: with its GEMM)"
            case .optimizer: return "gradient clipping + AdamW"
            case .attention: return "attention (q·kᵀ, softmax, p·v and their backward)"
            case .norms: return "RMSNorm"
            case .elementwise: return "RoPE, SwiGLU, residual adds"
            case .columnSplits: return "q/k/v and gate/up column splits and their gradient gathers"
            case .lossBackward: return "loss backward (softmax − one-hot, gathers; fp32: with the LM head's GEMM)"
            }
        }

        // The ops outside the GEMMs (declared apart from the kinds above, same enum).
        case attention, norms, elementwise
        // Copies and the loss's own backward, which were the unmeasured rest.
        case columnSplits, lossBackward
    }

    nonisolated(unsafe) public static var enabled = false
    nonisolated(unsafe) private static var totals = [UInt64](repeating: 0, count: Kind.allCases.count)
    nonisolated(unsafe) private static var current: Kind?
    nonisolated(unsafe) private static var since: UInt64 = 0

    @inline(__always)
    public static func measure<R>(_ kind: Kind, _ body: () throws -> R) rethrows -> R {
        guard enabled else { return try body() }
        let outer = current
        charge()
        current = kind
        defer {
            charge()
            current = outer
        }
        return try body()
    }

    private static func charge() {
        let now = DispatchTime.now().uptimeNanoseconds
        if let kind = current { totals[kind.rawValue] += now - since }
        since = now
    }

    /// Seconds per kind since the last reset.
    public static var seconds: [Kind: Double] {
        Dictionary(uniqueKeysWithValues: Kind.allCases.map { ($0, Double(totals[$0.rawValue]) / 1e9) })
    }

    public static func reset() {
        totals = [UInt64](repeating: 0, count: Kind.allCases.count)
    }
}
