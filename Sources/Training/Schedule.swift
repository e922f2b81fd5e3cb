import Foundation

/// Learning-rate schedules with HF `transformers/optimization.py` semantics (docs/formats.md, Optimizer and schedules).
public enum ScheduleType: String, Sendable, CaseIterable {
    case constant, linear, cosine
}

/// λ(k) for update k = 0 … N−1 (`lr = base_lr · λ(k)`); a pure function of the step, so a resumed run
/// recomputes it from the stored global step.
public struct LRSchedule: Sendable, Equatable {
    public let type: ScheduleType
    public let totalSteps: Int    // N
    public let warmupSteps: Int   // W
    public let minLrRatio: Double // ρ (cosine and linear floor)

    /// W = `warmupSteps` if > 0, else ceil(N · warmupRatio) (HF `get_warmup_steps`).
    public init(type: ScheduleType, totalSteps: Int, warmupSteps: Int, warmupRatio: Double, minLrRatio: Double) {
        self.type = type
        self.totalSteps = totalSteps
        self.warmupSteps = warmupSteps > 0 ? warmupSteps : Int((Double(totalSteps) * warmupRatio).rounded(.up))
        self.minLrRatio = minLrRatio
    }

    /// With W > 0 the first update has λ = 0, as in HF.
    public func factor(step k: Int) -> Double {
        let w = warmupSteps, n = totalSteps
        if k < w { return Double(k) / Double(max(1, w)) }
        let q = Double(k - w) / Double(max(1, n - w))
        switch type {
        case .constant:
            return 1
        case .linear:
            // HF linear: max(0, (N−k)/(N−W)), floored at ρ when min_lr_ratio is set.
            let f = max(0, Double(n - k) / Double(max(1, n - w)))
            return minLrRatio > 0 ? f * (1 - minLrRatio) + minLrRatio : f
        case .cosine:
            // HF cosine_with_min_lr: max(0, f·(1−ρ) + ρ), f = 0.5·(1 + cos πq); ρ = 0 is plain cosine.
            let f = 0.5 * (1 + Foundation.cos(Double.pi * q))
            return max(0, f * (1 - minLrRatio) + minLrRatio)
        }
    }
}
