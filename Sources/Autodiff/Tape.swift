import Tensors

/// A value on the tape: a tensor, and — when it needs one — its gradient.
///
/// Trainable leaves (LoRA A and B) are created with `requiresGrad: true`; an op's output requires a
/// gradient when any input does. Frozen weights are not variables at all (they are `Tensor` or
/// `FrozenWeight` arguments of the ops), so no gradient is ever computed for them.
public final class Variable: @unchecked Sendable {
    public let value: Tensor
    public let requiresGrad: Bool
    /// The accumulated gradient (same shape as `value`), or nil while nothing has flowed back.
    public var grad: Tensor?

    public init(_ value: Tensor, requiresGrad: Bool = false) {
        self.value = value
        self.requiresGrad = requiresGrad
    }

    public var shape: [Int] { value.shape }

    /// Drops the gradient (the next accumulation starts from zero).
    public func zeroGrad() { grad = nil }

    /// Runs `body(dst, beta)` to add into the gradient: `beta` is 0 when the gradient does not exist
    /// yet (fresh, uninitialised storage: overwrite it, never scale it) and 1 when it does (accumulate). This maps straight onto GEMM's
    /// beta and lets element-wise kernels skip a zero fill.
    public func accumulateGrad(_ body: (UnsafeMutablePointer<Float>, Float) -> Void) {
        if let g = grad {
            body(g.data, 1)
        } else {
            let g = Tensor(uninitialized: value.shape)
            body(g.data, 0)
            grad = g
        }
    }
}

/// A reverse-mode tape of pullback closures at tensor granularity.
///
/// Ops append `(output, pullback)` pairs as they run forward. `backward` walks them in reverse; a
/// pullback reads its output's gradient and adds into its inputs' gradients. Each pullback (and the
/// activations it captured) is released as soon as it has run, so memory falls during backward.
public final class Tape {
    private struct Node {
        let output: Variable
        var pullback: ((Tensor) -> Void)?
    }

    private var nodes: [Node] = []
    /// False for a tape that only computes values (the forward pass inside a recompute segment).
    public let isRecording: Bool

    public init(recording: Bool = true) { isRecording = recording }

    public var nodeCount: Int { nodes.count }

    /// Records `pullback` for `output` when the tape records and `output` needs a gradient.
    public func record(_ output: Variable, _ pullback: @escaping (Tensor) -> Void) {
        guard isRecording, output.requiresGrad else { return }
        nodes.append(Node(output: output, pullback: pullback))
    }

    /// Back-propagates from `output`, seeding its gradient with `seed` (a tensor of its shape) or, for a
    /// scalar, with `seedScale` (e.g. 1/N to normalise a summed loss). Gradients of leaves accumulate.
    public func backward(from output: Variable, seed: Tensor? = nil, seedScale: Float = 1) {
        guard output.requiresGrad else { return }
        if let seed {
            precondition(seed.count == output.value.count, "backward seed shape \(seed.shape) ≠ \(output.shape)")
            output.accumulateGrad { g, beta in
                // Never `beta * g`: fresh storage may hold NaN, and 0 · NaN is NaN.
                if beta == 0 { g.update(from: seed.data, count: seed.count) } else { axpy(1, seed.data, g, seed.count) }
            }
        } else {
            output.accumulateGrad { g, beta in
                for i in 0..<output.value.count { g[i] = (beta == 0 ? 0 : g[i]) + seedScale }
            }
        }
        for i in stride(from: nodes.count - 1, through: 0, by: -1) {
            let node = nodes[i]
            nodes[i].pullback = nil
            if let g = node.output.grad, let pb = node.pullback {
                pb(g)
            }
            // Intermediate gradients are not needed once propagated; leaves keep theirs.
            if node.output !== output { node.output.grad = nil }
        }
        nodes.removeAll(keepingCapacity: true)
    }
}
