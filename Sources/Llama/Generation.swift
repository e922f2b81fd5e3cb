import Autodiff
import Foundation
import Seeds
import Tensors

/// A prompt `generate` cannot run on.
public struct GenerationError: LocalizedError, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var errorDescription: String? { message }
}

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

    /// Writes the keys and values `[n, G·d]` of rows `start…start+n−1` of `layer`.
    func store(keys k: Tensor, values v: Tensor, layer: Int, at start: Int) {
        let width = keys[layer].shape[1], n = k.rows
        (keys[layer].data + start * width).update(from: k.data, count: n * width)
        (values[layer].data + start * width).update(from: v.data, count: n * width)
    }

    func advance(_ n: Int) { length += n }
}

/// How the next token is chosen: greedy when `temperature` is 0, else sampled from the softmax of
/// logits / temperature restricted to the smallest set of most likely tokens whose mass reaches `topP`.
///
/// A sampler is one random stream: draw `k` uses the counter-based uniform `(seed, k)`, and `draws`
/// moves on with every token, so the same seed gives the same text and a later chat turn continues the
/// stream instead of repeating the first turn's draws.
public struct Sampler: Sendable {
    public var temperature: Double
    public var topP: Double
    public var seed: UInt64
    /// Draws taken so far: the index of the next one.
    public private(set) var draws = 0

    public init(temperature: Double = 0.6, topP: Double = 0.9, seed: UInt64 = 0) {
        self.temperature = temperature; self.topP = topP; self.seed = seed
    }

    /// The next token for `logits`; advances the stream.
    public mutating func next(_ logits: [Float]) -> Int {
        defer { draws += 1 }
        return pick(logits, draw: draws)
    }

    /// The token for draw number `draw` of this seed.
    func pick(_ logits: [Float], draw: Int) -> Int {
        guard temperature > 0 else { return logits.indices.max { logits[$0] < logits[$1] } ?? 0 }
        let m = logits.max() ?? 0
        var probs = logits.map { Foundation.exp(Double($0 - m) / temperature) }
        let z = probs.reduce(0, +)
        probs = probs.map { $0 / z }
        // The nucleus in decreasing probability (ties: lower id first), taken from a heap one token at
        // a time: usually a few dozen pops instead of sorting the whole vocabulary.
        var heap = ProbabilityHeap(probs)
        var kept: [Int] = [], mass = 0.0
        while let i = heap.popMax() {
            kept.append(i)
            mass += probs[i]
            if mass >= topP { break }
        }
        var u = Double(counterUniform(seed: seed, index: draw)) * mass
        for i in kept {
            u -= probs[i]
            if u <= 0 { return i }
        }
        return kept.last ?? 0
    }
}

/// A binary max-heap of token ids ordered by probability, then by lower id: built in O(V), each pop
/// O(log V).
struct ProbabilityHeap {
    private let probs: [Double]
    private var ids: [Int]

    init(_ probs: [Double]) {
        self.probs = probs
        ids = Array(probs.indices)
        for i in stride(from: ids.count / 2 - 1, through: 0, by: -1) { siftDown(i) }
    }

    /// Whether token `a` comes before token `b`.
    private func before(_ a: Int, _ b: Int) -> Bool { probs[a] > probs[b] || (probs[a] == probs[b] && a < b) }

    mutating func popMax() -> Int? {
        guard let top = ids.first else { return nil }
        let last = ids.removeLast()
        if !ids.isEmpty {
            ids[0] = last
            siftDown(0)
        }
        return top
    }

    private mutating func siftDown(_ start: Int) {
        var i = start
        while true {
            let l = 2 * i + 1, r = l + 1
            var best = i
            if l < ids.count && before(ids[l], ids[best]) { best = l }
            if r < ids.count && before(ids[r], ids[best]) { best = r }
            if best == i { return }
            ids.swapAt(i, best)
            i = best
        }
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
        let context = LayerContext(cos: cos, sin: sin, attention: .cache(cache, start: start), dropoutSeed: nil)
        let h = decoderStack(ids, context: context, tape: tape)
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
    /// Returns the generated ids (a final stop id included); `sampler` moves on by one draw per id.
    /// Throws, before any work, for an empty prompt, a prompt id outside the vocabulary (it would
    /// index past the embedding table) or a negative `maxNewTokens`.
    public func generate(prompt: [Int], maxNewTokens: Int, stop: Set<Int>, sampler: inout Sampler,
                         onToken: (Int) -> Bool = { _ in true }) throws -> [Int] {
        guard !prompt.isEmpty else { throw GenerationError("the prompt is empty: give at least one token (a chat prompt starts with the template's begin-of-text token)") }
        if let (position, id) = prompt.enumerated().first(where: { $0.element < 0 || $0.element >= config.vocabSize }) {
            throw GenerationError("prompt token \(position) is id \(id), outside the model's vocabulary 0..<\(config.vocabSize): was the prompt made by this model's own tokenizer?")
        }
        guard maxNewTokens >= 0 else { throw GenerationError("maxNewTokens is \(maxNewTokens); it must be 0 or more") }
        let cache = KVCache(config: config, capacity: prompt.count + maxNewTokens)
        var logits = extend(prompt, cache: cache)
        var out: [Int] = []
        for step in 0..<maxNewTokens {
            let id = sampler.next(logits)
            out.append(id)
            if stop.contains(id) || !onToken(id) || step == maxNewTokens - 1 { break }
            logits = extend([id], cache: cache)
        }
        return out
    }
}
