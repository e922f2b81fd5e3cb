import Tensors

extension Tape {
    /// Embedding gather from a frozen table `[V, D]`: `y[t] = E[ids[t]]`, `[T, D]`. No gradient
    /// (base embeddings are frozen); the result starts a branch that needs none.
    public func embedding(_ ids: [Int], table: FrozenWeight) -> Variable {
        let d = table.columns
        let y = Tensor(uninitialized: [ids.count, d])
        for (t, id) in ids.enumerated() {
            precondition(id >= 0 && id < table.rows, "embedding: token id \(id) outside vocabulary 0..<\(table.rows)")
            table.copyRow(id, to: y.data + t * d)
        }
        return Variable(y)
    }

    /// Embedding gather from a trainable table: the gradient scatters back, `dE[ids[t]] += dy[t]`
    /// (repeated ids accumulate).
    public func embedding(_ ids: [Int], table: Variable) -> Variable {
        let d = table.value.columns, v = table.value.rows
        let y = Tensor(uninitialized: [ids.count, d])
        for (t, id) in ids.enumerated() {
            precondition(id >= 0 && id < v, "embedding: token id \(id) outside vocabulary 0..<\(v)")
            (y.data + t * d).update(from: table.value.data + id * d, count: d)
        }
        let out = Variable(y, requiresGrad: table.requiresGrad)
        record(out) { dy in
            table.accumulateGrad { de, beta in
                if beta == 0 { de.update(repeating: 0, count: v * d) }
                for (t, id) in ids.enumerated() { axpy(1, dy.data + t * d, de + id * d, d) }
            }
        }
        return out
    }
}
