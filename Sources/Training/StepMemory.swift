import Foundation
import Llama
import Tensors

/// What one training step needs in memory, estimated before anything large is allocated, so a recipe
/// that cannot fit is refused with the figures and what to change, instead of ending in an
/// out-of-memory kill.
///
/// The estimate follows what a step keeps alive (fp32 throughout, see docs/recipe.md):
/// - base weights: the fp32 cache when it is used, else the file's 16-bit copy, or a quantized base's
///   encoded bytes;
/// - adapters and AdamW: each LoRA parameter as value, gradient and two moments;
/// - activations of the longest micro-batch: per token and layer the saved inputs of the norms,
///   projections, attention and SwiGLU (only the layer inputs with gradient checkpointing, plus one
///   layer recomputed), and the LM head's logits and their gradient.
/// It is an estimate meant to catch impossible settings (rank 100000, a 100000-token pack), not to
/// budget to the last MiB.
public struct StepMemory: Sendable {
    public var weightBytes: Int
    public var adapterBytes: Int
    public var activationBytes: Int
    public var totalBytes: Int { weightBytes + adapterBytes + activationBytes }

    /// `encodedWeightBytes`: the stored size of a base kept encoded and dequantized per use (a GGUF file's
    /// tensors, the bench's Q4_K shapes), nil for a 16-bit or fp32 base.
    public init(config c: LlamaConfig, weightsInFloat32: Bool, encodedWeightBytes: Int? = nil, rank: Int, targets: [Projection],
                tokens: Int, checkpointing: Bool) {
        let d = c.hiddenSize, h = c.numHeads * c.headDim, g = c.numKVHeads * c.headDim, i = c.intermediateSize
        let layers = c.numLayers
        if let encodedWeightBytes, !weightsInFloat32 {
            // The encoded bytes, plus the fp32 copy of the widest matrix while a layer uses it (the LM
            // head: 2.1 GB for Llama 3 8B).
            weightBytes = encodedWeightBytes + max(c.vocabSize, i, h) * d * 4
        } else {
            weightBytes = c.parameterCount * (weightsInFloat32 ? 4 : 2)
        }
        var loraPerLayer = 0
        for p in targets {
            let (inF, outF): (Int, Int)
            switch p {
            case .q: (inF, outF) = (d, h)
            case .k, .v: (inF, outF) = (d, g)
            case .o: (inF, outF) = (h, d)
            case .gate, .up: (inF, outF) = (d, i)
            case .down: (inF, outF) = (i, d)
            }
            loraPerLayer += rank * (inF + outF)
        }
        adapterBytes = layers * loraPerLayer * 4 * 4
        // Floats saved per token in one layer: two norms and residuals (4d), q/k/v and attention output
        // (2h + 2g), gate/up/SwiGLU (3i), and each adapted projection's low-rank activation (r).
        let perTokenLayer = 4 * d + 2 * h + 2 * g + 3 * i + rank * targets.count
        let layerFloats = checkpointing ? layers * d + perTokenLayer : layers * perTokenLayer
        activationBytes = tokens * (layerFloats + 2 * c.vocabSize) * 4
    }

    /// Throws when the estimate exceeds `available` bytes, naming the parts and what to change.
    public func check(available: Int?, what: String) throws {
        guard let available, totalBytes > available else { return }
        func mib(_ b: Int) -> String { "\(b >> 20) MiB" }
        throw TrainingError("""
            \(what) needs about \(mib(totalBytes)) (base weights \(mib(weightBytes)), adapters and AdamW \(mib(adapterBytes)), \
            activations \(mib(activationBytes))) and this machine has \(mib(available)) available. Lower lora.rank, \
            data.max_seq_len or train.batch_size, or set train.gradient_checkpointing.
            """)
    }
}
