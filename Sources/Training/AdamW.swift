import Autodiff
import Foundation
import Tensors

/// AdamW with PyTorch semantics (docs/formats.md, Optimizer and schedules; `torch.optim.AdamW`, amsgrad off): decoupled weight
/// decay applied first, bias-corrected moments, ε added to the corrected √v.
public final class AdamW {
    public let beta1: Float, beta2: Float, eps: Float, weightDecay: Float
    /// First and second moments, one pair per parameter, in parameter order.
    public private(set) var m: [Tensor]
    public private(set) var v: [Tensor]
    /// Updates done so far (t of the bias correction).
    public private(set) var step: Int

    public init(parameters: [Variable], beta1: Float, beta2: Float, eps: Float, weightDecay: Float) {
        self.beta1 = beta1; self.beta2 = beta2; self.eps = eps; self.weightDecay = weightDecay
        m = parameters.map { Tensor(zeros: $0.shape) }
        v = parameters.map { Tensor(zeros: $0.shape) }
        step = 0
    }

    /// Restores moments and the step counter (from a checkpoint). Refuses moments whose number or shapes
    /// differ from the parameters' (the update would write past their ends).
    public func restore(m: [Tensor], v: [Tensor], step: Int) throws {
        guard m.count == self.m.count, v.count == self.v.count else {
            throw CheckpointError("the optimizer state has \(m.count) first and \(v.count) second moments for \(self.m.count) adapter tensors")
        }
        for i in m.indices where m[i].shape != self.m[i].shape || v[i].shape != self.v[i].shape {
            throw CheckpointError("optimizer moment \(i) has shapes \(m[i].shape) / \(v[i].shape), its adapter tensor \(self.m[i].shape)")
        }
        guard step >= 0 else { throw CheckpointError("the optimizer step is \(step); it counts updates and cannot be negative") }
        self.m = m; self.v = v; self.step = step
    }

    /// One update with learning rate `lr`, using each parameter's (already clipped) gradient.
    /// A parameter without a gradient is treated as having a zero gradient (decay and moments still move).
    public func update(_ parameters: [Variable], lr: Double) {
        step += 1
        let t = Double(step)
        // PyTorch computes these scalars in Python floats (Double): step_size = lr / (1 − β1^t),
        // denom = √v / √(1 − β2^t) + ε, decay factor 1 − lr·λ.
        let stepSize = Float(lr / (1 - Foundation.pow(Double(beta1), t)))
        let bc2sqrt = Float((1 - Foundation.pow(Double(beta2), t)).squareRoot())
        let decay = Float(1 - lr * Double(weightDecay))
        for (i, p) in parameters.enumerated() {
            let n = p.value.count
            let pp = p.value.data, mp = m[i].data, vp = v[i].data
            let gp = p.grad?.data
            for j in 0..<n {
                let g = gp?[j] ?? 0
                pp[j] *= decay
                // torch: m.lerp_(g, 1−β1) = m + (1−β1)(g − m); v.mul_(β2).addcmul_(g, g, 1−β2)
                mp[j] += (g - mp[j]) * (1 - beta1)
                vp[j] = vp[j] * beta2 + (1 - beta2) * g * g
                let denom = vp[j].squareRoot() / bc2sqrt + eps
                pp[j] -= stepSize * mp[j] / denom
            }
        }
    }
}

/// Global L2 gradient clipping (PyTorch `clip_grad_norm_`): `total = sqrt(Σ g²)`;
/// `coef = max_norm / (total + 1e-6)`; every gradient × coef when coef < 1. Returns the pre-clip norm.
@discardableResult
public func clipGradients(_ parameters: [Variable], maxNorm: Float?) -> Float {
    var sum = 0.0
    for p in parameters {
        guard let g = p.grad else { continue }
        // Per-tensor norm in Double, then summed (torch: norm of the per-tensor norms).
        var s = 0.0
        for j in 0..<g.count { s += Double(g[j]) * Double(g[j]) }
        sum += s
    }
    let total = Float(sum.squareRoot())
    if let maxNorm, total.isFinite {
        let coef = maxNorm / (total + 1e-6)
        if coef < 1 { for p in parameters { if let g = p.grad { scale(g.data, coef, g.data, g.count) } } }
    }
    return total
}
