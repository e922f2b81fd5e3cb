import Autodiff
import Foundation
import Seeds
import Tensors

/// The Llama decoder on the tape (docs/formats.md, Forward pass), with optional LoRA adapters.
public final class LlamaModel: @unchecked Sendable {
    public let config: LlamaConfig
    public let weights: LlamaWeights
    public let rope: RoPEFrequencies
    public var adapters: LoRAAdapters?

    public init(weights: LlamaWeights, adapters: LoRAAdapters? = nil) {
        self.config = weights.config
        self.weights = weights
        self.rope = RoPEFrequencies(config: weights.config)
        self.adapters = adapters
    }

    /// Loads config and weights from a Hugging Face model directory or a GGUF file (`ModelSource`).
    public static func load(directory: String, cacheFloat32: Bool = false) throws -> LlamaModel {
        let config = try LlamaConfig.load(path: directory)
        return LlamaModel(weights: try LlamaWeights.load(directory: directory, config: config, cacheFloat32: cacheFloat32))
    }

    /// Runs embeddings, decoder layers and the final norm; returns the normed hidden states `[N, D]`.
    ///
    /// - Parameters:
    ///   - checkpointing: run each decoder layer as a recompute segment (activations rebuilt in backward).
    ///   - dropoutSeed: training mode: base seed of the LoRA dropout masks (each layer and projection
    ///     derives its own). nil (the default) is inference: no dropout, as PEFT in eval mode.
    ///   - observe: receives `("embed", h)`, `("0", h)`, … `("final_norm", h)` (for parity checks).
    public func forward(
        _ batch: ModelBatch, tape: Tape, checkpointing: Bool = false, dropoutSeed: UInt64? = nil,
        observe: ((String, Tensor) -> Void)? = nil
    ) -> Variable {
        let (cos, sin) = rope.tables(positions: batch.positions)
        let context = LayerContext(cos: cos, sin: sin, attention: .segments(batch.segments), dropoutSeed: dropoutSeed)
        let h = decoderStack(batch.ids, context: context, tape: tape, checkpointing: checkpointing, observe: observe)
        let out = tape.rmsNorm(h, weight: weights.finalNorm, eps: config.rmsNormEps)
        observe?("final_norm", out.value)
        return out
    }

    /// Embeddings and every decoder layer, before the final norm: `[N, D]`. Training, `logits` and
    /// cached generation (`extend`) all run through here; only the attention input differs.
    func decoderStack(
        _ ids: [Int], context: LayerContext, tape: Tape, checkpointing: Bool = false,
        observe: ((String, Tensor) -> Void)? = nil
    ) -> Variable {
        var h = tape.embedding(ids, table: weights.embedding)
        observe?("embed", h.value)
        for layer in 0..<config.numLayers {
            if checkpointing && tape.isRecording {
                h = tape.recompute([h]) { t, inputs in self.decoderLayer(layer, inputs[0], tape: t, context: context) }
            } else {
                h = decoderLayer(layer, h, tape: tape, context: context)
            }
            observe?("\(layer)", h.value)
        }
        return h
    }

    /// Σ NLL over the batch's loss positions (a scalar on the tape). Divide by the step's target count
    /// when back-propagating (`tape.backward(from:seedScale:)`).
    public func lossSum(_ batch: ModelBatch, tape: Tape, checkpointing: Bool = false, dropoutSeed: UInt64? = nil) -> Variable {
        let hidden = forward(batch, tape: tape, checkpointing: checkpointing, dropoutSeed: dropoutSeed)
        return tape.lmHeadCrossEntropy(hidden, weight: weights.lmHead, positions: batch.lossPositions, targets: batch.lossTargets)
    }

    /// Full logits `[N, V]` from normed hidden states (diagnostics and generation; training never
    /// materialises these).
    public func logits(hidden: Tensor) -> Tensor {
        let n = hidden.rows, d = config.hiddenSize, v = config.vocabSize
        let out = Tensor(uninitialized: [n, v])
        weights.lmHead.withFloat32 { w in
            sgemm(transA: false, transB: true, m: n, n: v, k: d, hidden.data, lda: d, w, ldb: d, out.data, ldc: v)
        }
        return out
    }

    /// One decoder layer: `h + attn(norm(h))`, then `h1 + mlp(norm(h1))` (pre-norm, SwiGLU MLP).
    func decoderLayer(_ layer: Int, _ h: Variable, tape: Tape, context: LayerContext) -> Variable {
        let w = weights.layers[layer], c = config, seed = context.dropoutSeed
        let x = tape.rmsNorm(h, weight: w.inputNorm, eps: c.rmsNormEps)
        let parts = projectGroup([.q, .k, .v], x, weight: w.qkv, layer: layer, tape: tape, dropoutSeed: seed)
        var q = parts[0], k = parts[1]                                                  // [N, H·d], [N, G·d]
        let v = parts[2]                                                                // [N, G·d]
        q = tape.rope(q, heads: c.numHeads, headDim: c.headDim, cos: context.cos, sin: context.sin)
        k = tape.rope(k, heads: c.numKVHeads, headDim: c.headDim, cos: context.cos, sin: context.sin)
        let attn: Variable                                                              // [N, H·d]
        switch context.attention {
        case .segments(let segments):
            // A bf16 run (its weights packed) computes attention's and LoRA's fp32 products with our AVX-512
            // kernel where the CPU has it (docs/precision.md).
            attn = tape.attention(q: q, k: k, v: v, heads: c.numHeads, kvHeads: c.numKVHeads, headDim: c.headDim, segments: segments,
                                  products: .forRun(bf16: w.qkv.bf16 != nil))
        case .cache(let cache, let start):
            precondition(!tape.isRecording, "cached attention has no backward: run it on a non-recording tape")
            cache.store(keys: k.value, values: v.value, layer: layer, at: start)
            attn = Variable(cachedAttention(q.value, layer: layer, cache: cache, start: start))
        }
        let h1 = tape.add(h, project(.o, attn, layer: layer, tape: tape, dropoutSeed: seed))
        let m = tape.rmsNorm(h1, weight: w.postAttentionNorm, eps: c.rmsNormEps)
        let gateUp = projectGroup([.gate, .up], m, weight: w.gateUp, layer: layer, tape: tape, dropoutSeed: seed)
        let gate = gateUp[0], up = gateUp[1]                                            // [N, I] each
        let mlp = project(.down, tape.swiglu(gate: gate, up: up), layer: layer, tape: tape, dropoutSeed: seed)
        return tape.add(h1, mlp)
    }

    /// A projection through the frozen weight, plus its LoRA branch when the projection is adapted.
    func project(_ p: Projection, _ x: Variable, layer: Int, tape: Tape, dropoutSeed: UInt64?) -> Variable {
        let w = weights.layers[layer][p]
        guard let adapters, let pair = adapters.pairs[layer][p] else { return tape.linear(x, w) }
        return tape.loraLinear(x, w, a: pair.a, b: pair.b, scale: adapters.config.scale,
                               dropout: dropoutSeed == nil ? 0 : Float(adapters.config.dropout),
                               dropoutSeed: projectionSeed(dropoutSeed ?? 0, layer: layer, p), products: .forRun(bf16: w.bf16 != nil))
    }

    /// Projections that read the same input, as one grouped op over their stacked weights; one output
    /// per projection.
    func projectGroup(_ ps: [Projection], _ x: Variable, weight: FrozenWeight, layer: Int, tape: Tape, dropoutSeed: UInt64?) -> [Variable] {
        let blocks = ps.map { p -> LoRABlock in
            let rows = p.shape(config)[0]
            guard let pair = adapters?.pairs[layer][p] else { return LoRABlock(rows: rows) }
            return LoRABlock(rows: rows, a: pair.a, b: pair.b, dropoutSeed: projectionSeed(dropoutSeed ?? 0, layer: layer, p))
        }
        return tape.groupedLoRALinearBlocks(x, weight, blocks: blocks, scale: adapters?.config.scale ?? 0,
                                      dropout: dropoutSeed == nil ? 0 : Float(adapters?.config.dropout ?? 0),
                                      products: .forRun(bf16: weight.bf16 != nil))
    }

    /// Each layer and projection has its own dropout mask stream.
    func projectionSeed(_ base: UInt64, layer: Int, _ p: Projection) -> UInt64 {
        deriveSeed(base, layer, p.index)
    }
}

/// Where a decoder layer's attention finds its keys and values.
enum AttentionInput {
    /// Training and full-sequence scoring: the rows' own keys, each document one causal segment.
    case segments([Segment])
    /// Cached generation: the new rows (absolute positions `start…`) are appended to the cache, and
    /// attention reads every cached row before them.
    case cache(KVCache, start: Int)
}

/// What every decoder layer of one forward pass shares.
struct LayerContext {
    /// RoPE tables of the rows' positions `[N, d/2]`.
    let cos: Tensor, sin: Tensor
    let attention: AttentionInput
    /// Training: base seed of the LoRA dropout masks; nil is inference (no dropout).
    let dropoutSeed: UInt64?
}

extension Projection {
    /// Position in `allCases`: the projection's part of derived seeds.
    var index: Int { Projection.allCases.firstIndex(of: self)! }
}
