import Tensors

extension Tape {
    /// A recompute segment (gradient checkpointing): `body` runs forward without keeping any of its
    /// activations; in backward it runs again on a fresh tape, back-propagates the incoming gradient
    /// through that re-run, and passes the input gradients on. Trainable parameters captured by `body`
    /// receive their gradients during the re-run.
    ///
    /// `body` must be deterministic (dropout masks come from seeds, never from consumed RNG state).
    public func recompute(_ inputs: [Variable], _ body: @escaping (Tape, [Variable]) -> Variable) -> Variable {
        let valueOnly = Tape(recording: false)
        let forward = body(valueOnly, inputs.map { Variable($0.value, requiresGrad: $0.requiresGrad) })
        let out = Variable(forward.value, requiresGrad: isRecording && forward.requiresGrad)
        record(out) { dy in
            let sub = Tape()
            let leaves = inputs.map { Variable($0.value, requiresGrad: $0.requiresGrad) }
            let y = body(sub, leaves)
            sub.backward(from: y, seed: dy)
            for (input, leaf) in zip(inputs, leaves) where input.requiresGrad {
                guard let g = leaf.grad else { continue }
                input.accumulateGrad { dst, beta in
                    beta == 0 ? dst.update(from: g.data, count: g.count) : axpy(1, g.data, dst, g.count)
                }
            }
        }
        return out
    }
}
