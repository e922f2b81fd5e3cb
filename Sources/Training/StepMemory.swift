import Foundation
import Llama
import Tensors

/// What one training step needs in memory, estimated before anything large is allocated, so a recipe
/// that cannot fit is refused with the figures and what to change, instead of ending in an
/// out-of-memory kill.
///
/// The estimate follows what a step keeps alive (fp32 throughout, see docs/recipe.md):
/// - base weights: the fp32 cache when it is used, else the file's 16-bit copy, or a quantized base's
///   encoded bytes; in precision bf16 the packed copy instead (`bf16WeightBytes`);
/// - adapters and AdamW: each LoRA parameter as value, gradient and two moments;
/// - activations of the longest micro-batch: per token and layer the saved inputs of the norms,
///   projections, attention and SwiGLU (only the layer inputs with gradient checkpointing, plus one
///   layer recomputed), and the LM head's logits and their gradient;
/// - attention scratch: each thread's two `[L, L]` score buffers for the longest sequence L (one
///   example, or one document of a packed row), which is what a single very long example costs.
/// It is an estimate meant to catch impossible settings (rank 100000, a 100000-token pack), not to
/// budget to the last MiB. It is computed in floating point and saturates, so absurd settings
/// (a batch of 2^62 rows) are refused rather than overflowing here.
public struct StepMemory: Sendable {
    public var weightBytes: Int
    public var adapterBytes: Int
    public var activationBytes: Int
    public var attentionScratchBytes: Int
    public var totalBytes: Int { [weightBytes, adapterBytes, activationBytes, attentionScratchBytes].reduce(0) { $0.addingReportingOverflow($1).overflow ? .max : $0 + $1 } }

    /// `rows` micro-batch rows of `rowLength` tokens each; `longestSequence` is the longest stretch that
    /// attends within itself (at most `rowLength`). `encodedWeightBytes`: the stored size of a base kept
    /// encoded and dequantized per use (a GGUF file's tensors, the bench's Q4_K shapes), nil otherwise.
    public init(config c: LlamaConfig, weightsInFloat32: Bool, encodedWeightBytes: Int? = nil, rank: Int, targets: [Projection],
                rows: Int, rowLength: Int, longestSequence: Int, threads: Int, checkpointing: Bool, precision: Precision = .fp32) {
        let d = Double(c.hiddenSize), h = Double(c.numHeads * c.headDim), g = Double(c.numKVHeads * c.headDim)
        let i = Double(c.intermediateSize), layers = Double(c.numLayers), r = Double(rank)
        weightBytes = StepMemory.saturated(Double(c.parameterCount) * (weightsInFloat32 ? 4 : 2))
        if let encodedWeightBytes, !weightsInFloat32 {
            // The encoded bytes, plus the fp32 copy of the widest matrix while a layer uses it (the LM
            // head: 2.1 GB for Llama 3 8B).
            weightBytes = StepMemory.saturated(Double(encodedWeightBytes) + Double(max(c.vocabSize, c.intermediateSize, c.numHeads * c.headDim)) * d * 4)
        }
        if precision == .bf16 { weightBytes = Self.bf16WeightBytes(c) }
        var loraPerLayer = 0.0
        for p in targets {
            let (inF, outF): (Double, Double)
            switch p {
            case .q: (inF, outF) = (d, h)
            case .k, .v: (inF, outF) = (d, g)
            case .o: (inF, outF) = (h, d)
            case .gate, .up: (inF, outF) = (d, i)
            case .down: (inF, outF) = (i, d)
            }
            loraPerLayer += r * (inF + outF)
        }
        adapterBytes = StepMemory.saturated(layers * loraPerLayer * 4 * 4)
        // Floats saved per token in one layer: two norms and residuals (4d), q/k/v and attention output
        // (2h + 2g), gate/up/SwiGLU (3i), and each adapted projection's low-rank activation (r).
        let perTokenLayer = 4 * d + 2 * h + 2 * g + 3 * i + r * Double(targets.count)
        let layerFloats = checkpointing ? layers * d + perTokenLayer : layers * perTokenLayer
        let tokens = Double(rows) * Double(rowLength)
        activationBytes = StepMemory.saturated(tokens * (layerFloats + 2 * Double(c.vocabSize)) * 4)
        let longest = Double(min(longestSequence, rowLength))
        attentionScratchBytes = StepMemory.saturated(Double(max(1, threads)) * 2 * longest * longest * 4)
    }

    private static func saturated(_ bytes: Double) -> Int { bytes < 0x1p62 ? Int(bytes) : 1 << 62 }

    /// Throws when the estimate exceeds `available` bytes, naming the parts and what to change.
    public func check(available: Int?, what: String) throws {
        guard let available, totalBytes > available else { return }
        func mib(_ b: Int) -> String { "\(b >> 20) MiB" }
        throw TrainingError("""
            \(what) needs about \(mib(totalBytes)) (base weights \(mib(weightBytes)), adapters and AdamW \(mib(adapterBytes)), \
            activations \(mib(activationBytes)), attention scratch \(mib(attentionScratchBytes))) and this machine has \
            \(mib(available)) available. Lower lora.rank, data.max_seq_len or train.batch_size, or set \
            train.gradient_checkpointing.
            """)
    }
}

extension StepMemory {
    /// Base weights in precision bf16 (docs/precision.md, Memory): the packed `x·Wᵀ` panels of every
    /// projection and of the LM head (2 bytes a weight; the stored base is released), the one scratch
    /// the largest of them has its `dY·W` panels rebuilt into (not on AMX, whose kernel builds them from
    /// the forward panels as it goes), and an untied embedding as stored (taken as 16-bit, like the base
    /// above). A tied embedding is the LM head's panels (bf16 files; a tied fp32 or f16 embedding keeps
    /// its stored copy too, which this leaves out).
    static func bf16WeightBytes(_ c: LlamaConfig, kernel: BF16Kernel = .best) -> Int {
        let d = c.hiddenSize, h = c.numHeads * c.headDim, g = c.numKVHeads * c.headDim, i = c.intermediateSize
        let head = c.vocabSize * d
        let packed = c.numLayers * ((h + 2 * g) * d + h * d + 2 * i * d + i * d) + head
        let scratch = kernel == .amx ? 0 : max(head, (h + 2 * g) * d, h * d, 2 * i * d, i * d)
        let embedding = c.tieWordEmbeddings ? 0 : head
        return 2 * (packed + scratch + embedding) + 4 * (c.numLayers * 2 * d + d)
    }
}
