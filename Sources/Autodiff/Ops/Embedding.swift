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
}
