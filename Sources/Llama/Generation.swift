import Autodiff
import Foundation
import Tensors

/// Keys (already rotated) and values of the tokens seen so far, per layer `[capacity, G·d]`, so
/// generating a token costs one token's forward pass instead of the whole sequence's.
public final class KVCache {
    public let capacity: Int
    public private(set) var length = 0
    let keys: [Tensor]
    let values: [Tensor]

    public init(config c: LlamaConfig, capacity: Int) {
        self.capacity = capacity
        let width = c.numKVHeads * c.headDim
        keys = (0..<c.numLayers).map { _ in Tensor(uninitialized: [capacity, width]) }
        values = (0..<c.numLayers).map { _ in Tensor(uninitialized: [capacity, width]) }
    }

    public func reset() { length = 0 }
    func advance(_ n: Int) { length += n }
}

/// How the next token is chosen: greedy when `temperature` is 0, else sampled from the softmax of
/// logits / temperature restricted to the smallest set whose mass reaches `topP`.
public struct Sampler: Sendable {
    public var temperature: Double
    public var topP: Double
    public var seed: UInt64

    public init(temperature: Double = 0.6, topP: Double = 0.9, seed: UInt64 = 0) {
        self.temperature = temperature; self.topP = topP; self.seed = seed
    }

    /// The token for step `step` (a counter-based random draw: the same seed gives the same text).
    public func pick(_ logits: [Float], step: Int) -> Int {
        guard temperature > 0 else { return logits.indices.max { logits[$0] < logits[$1] } ?? 0 }
        let m = logits.max() ?? 0
        var probs = logits.map { Foundation.exp(Double($0 - m) / temperature) }
        let z = probs.reduce(0, +)
        probs = probs.map { $0 / z }
        let order = probs.indices.sorted { probs[$0] > probs[$1] }
        var kept: [Int] = [], mass = 0.0
        for i in order {
            kept.append(i)
            mass += probs[i]
            if mass >= topP { break }
        }
        var u = Double(DropoutMask.uniform(seed: seed, index: step)) * mass
        for i in kept {
            u -= probs[i]
            if u <= 0 { return i }
        }
        return kept.last ?? 0
    }
}

extension LlamaModel {
    /// Feeds `ids` after the cached tokens (positions continue from `cache.length`), stores their keys
    /// and values, and returns the logits `[V]` of the last one. The adapter applies without dropout.
    public func extend(_ ids: [Int], cache: KVCache) -> [Float] {
        let c = config, n = ids.count, start = cache.length
        precondition(n > 0 && start + n <= cache.capacity, "extend: \(start) + \(n) tokens exceed the cache capacity \(cache.capacity)")
        let tape = Tape(recording: false)
        let (cos, sin) = rope.tables(positions: Array(start..<(start + n)))
        let qd = c.numHeads * c.headDim, kd = c.numKVHeads * c.headDim
        var h = tape.embedding(ids, table: weights.embedding)
        for layer in 0..<c.numLayers {
            let w = weights.layers[layer]
            let x = tape.rmsNorm(h, weight: w.inputNorm, eps: c.rmsNormEps)
            let parts = tape.splitColumns(projectGroup([.q, .k, .v], x, weight: w.qkv, layer: layer, tape: tape, dropoutSeed: nil),
                                          widths: [qd, kd, kd])
            let q = tape.rope(parts[0], heads: c.numHeads, headDim: c.headDim, cos: cos, sin: sin)   // [n, H·d]
            let k = tape.rope(parts[1], heads: c.numKVHeads, headDim: c.headDim, cos: cos, sin: sin) // [n, G·d]
            (cache.keys[layer].data + start * kd).update(from: k.value.data, count: n * kd)
            (cache.values[layer].data + start * kd).update(from: parts[2].value.data, count: n * kd)
            let attn = cachedAttention(q.value, layer: layer, cache: cache, start: start)
            let h1 = tape.add(h, project(.o, Variable(attn), layer: layer, tape: tape, dropoutSeed: nil))
            let m = tape.rmsNorm(h1, weight: w.postAttentionNorm, eps: c.rmsNormEps)
            let gu = tape.splitColumns(projectGroup([.gate, .up], m, weight: w.gateUp, layer: layer, tape: tape, dropoutSeed: nil),
                                       widths: [c.intermediateSize, c.intermediateSize])
            h = tape.add(h1, project(.down, tape.swiglu(gate: gu[0], up: gu[1]), layer: layer, tape: tape, dropoutSeed: nil))
        }
        cache.advance(n)
        // Only the last position's logits are needed.
        let last = Variable(Tensor(shape: [1, c.hiddenSize], values: Array(h.value.array[((n - 1) * c.hiddenSize)...])))
        return logits(hidden: tape.rmsNorm(last, weight: weights.finalNorm, eps: c.rmsNormEps).value).array
    }

    /// Attention of `n` new query rows (absolute positions start…start+n−1) over every cached key.
    func cachedAttention(_ q: Tensor, layer: Int, cache: KVCache, start: Int) -> Tensor {
        let c = config, n = q.rows, d = c.headDim, total = start + n
        let qs = c.numHeads * d, ks = c.numKVHeads * d, rep = c.numHeads / c.numKVHeads
        let out = Tensor(uninitialized: [n, qs])
        let scores = Tensor(uninitialized: [n, total])
        let scale = 1 / Float(d).squareRoot()
        for head in 0..<c.numHeads {
            let g = head / rep
            sgemm(transA: false, transB: true, m: n, n: total, k: d, alpha: scale, q.data + head * d, lda: qs,
                  cache.keys[layer].data + g * d, ldb: ks, scores.data, ldc: total)
            for i in 0..<n {
                let row = scores.data + i * total, visible = start + i + 1
                let m = maxElement(row, visible)
                let sum = expShiftSum(row, visible, shift: m)
                Tensors.scale(row, 1 / sum, row, visible)
                if visible < total { (row + visible).update(repeating: 0, count: total - visible) }
            }
            sgemm(transA: false, transB: false, m: n, n: d, k: total, scores.data, lda: total, cache.values[layer].data + g * d, ldb: ks,
                  out.data + head * d, ldc: qs)
        }
        return out
    }

    /// Generates after `prompt` until a stop id, `maxNewTokens`, or `onToken` returning false.
    /// Returns the generated ids (a final stop id included).
    public func generate(prompt: [Int], maxNewTokens: Int, stop: Set<Int>, sampler: Sampler,
                         onToken: (Int) -> Bool = { _ in true }) -> [Int] {
        let cache = KVCache(config: config, capacity: prompt.count + maxNewTokens)
        var logits = extend(prompt, cache: cache)
        var out: [Int] = []
        for step in 0..<maxNewTokens {
            let id = sampler.pick(logits, step: step)
            out.append(id)
            if stop.contains(id) || !onToken(id) || step == maxNewTokens - 1 { break }
            logits = extend([id], cache: cache)
        }
        return out
    }
}
