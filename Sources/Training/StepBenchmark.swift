import Autodiff
import Foundation
import Llama
import Seeds
import Tensors

/// `llama-sft bench <shape>`: full LoRA training steps (forward, backward, clipping, AdamW) on random
/// weights of a named model shape, timed, with the same FLOP accounting as a PyTorch + PEFT run of the
/// same shape (how the comparison was made: recipes/README.md), so the two can be compared side by side.
public enum StepBenchmark {
    /// Named shapes (the public configs of these models; vocabularies included).
    public static let shapes: [String: LlamaConfig] = [
        "tiny": LlamaConfig(vocabSize: 1024, hiddenSize: 128, intermediateSize: 384, numLayers: 4, numHeads: 4, numKVHeads: 2,
                            headDim: 32, rmsNormEps: 1e-5, ropeTheta: 500000, tieWordEmbeddings: false),
        "smollm2-135m": LlamaConfig(vocabSize: 49152, hiddenSize: 576, intermediateSize: 1536, numLayers: 30, numHeads: 9, numKVHeads: 3,
                                    headDim: 64, rmsNormEps: 1e-5, ropeTheta: 100000, tieWordEmbeddings: true),
        "llama3.2-1b": LlamaConfig(vocabSize: 128256, hiddenSize: 2048, intermediateSize: 8192, numLayers: 16, numHeads: 32, numKVHeads: 8,
                                   headDim: 64, rmsNormEps: 1e-5, ropeTheta: 500000,
                                   ropeScaling: .llama3(factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192),
                                   tieWordEmbeddings: true),
        "llama3.2-3b": LlamaConfig(vocabSize: 128256, hiddenSize: 3072, intermediateSize: 8192, numLayers: 28, numHeads: 24, numKVHeads: 8,
                                   headDim: 128, rmsNormEps: 1e-5, ropeTheta: 500000,
                                   ropeScaling: .llama3(factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192),
                                   tieWordEmbeddings: true),
        "llama3-8b": LlamaConfig(vocabSize: 128256, hiddenSize: 4096, intermediateSize: 14336, numLayers: 32, numHeads: 32, numKVHeads: 8,
                                 headDim: 128, rmsNormEps: 1e-5, ropeTheta: 500000, tieWordEmbeddings: false),
    ]

    static let quantizedSuffix = "-q4k"

    /// Every shape `run` accepts: each named shape, and each with a Q4_K base (`<shape>-q4k`).
    public static var shapeNames: [String] { shapes.keys.sorted().flatMap { [$0, $0 + quantizedSuffix] } }

    public struct Options: Sendable {
        public var shape = "smollm2-135m"
        public var seq = 512
        public var batch = 1
        public var trainedFraction = 0.5
        public var steps = 4
        public var warmup = 1
        public var rank = 8
        public var alpha = 16.0
        public var threads: Int?
        public var gradientCheckpointing = false
        /// Base weights in bf16 (as a real checkpoint is); default for llama3-8b.
        public var bf16: Bool?
        /// How the frozen-base products are computed (train.precision).
        public var precision = Precision.fp32
        /// Measure the share of step time per kind of work (`WorkProfile`).
        public var profile = false
        public init() {}
    }

    public struct Result: Sendable {
        public var shape: String
        public var tokensPerSecond: Double
        public var stepSeconds: [Double]
        public var peakRSSMiB: Double
        public var gflops: Double
        public var sgemmPeakGflops: Double
        public var sgemmShare: Double
        public var flopsPerToken: Double
        public var threads: Int
        public var losses: [Double]
        /// The precision used (auto resolved).
        public var precision: String
        /// Share of the timed steps' time per kind of work (with `profile`), largest first; the rest is
        /// attention, norms, RoPE, element-wise ops and the LM head's backward.
        public var profile: [(kind: String, share: Double)] = []

        public var json: [String: Any] {
            let cpu = CPUInfo.current
            return ["cpu": cpu.brand, "cpu_features": cpu.featureNames, "blas_core": cpu.blasCore, "precision": precision,
             "bf16_kernel": precision == "bf16" ? BF16Kernel.best.rawValue : "none", "shape": shape, "tokens_per_s": tokensPerSecond, "peak_rss_mib": peakRSSMiB, "gflops": gflops,
             "sgemm_share": sgemmShare, "sgemm_peak_gflops": sgemmPeakGflops, "flops_per_token": flopsPerToken,
             "step_seconds": stepSeconds, "threads": threads, "losses": losses,
             "profile": Dictionary(uniqueKeysWithValues: profile.map { ($0.kind, $0.share) })]
        }
    }

    public static func run(_ o: Options, log: (String) -> Void) throws -> Result {
        // "<shape>-q4k": the same model with a Q4_K base (GGUF's Q4_K_M, dequantized per use).
        let quantized = o.shape.hasSuffix(quantizedSuffix)
        let baseShape = quantized ? String(o.shape.dropLast(quantizedSuffix.count)) : o.shape
        guard let config = shapes[baseShape] else {
            throw TrainingError("unknown shape \"\(o.shape)\"; known: \(shapeNames.joined(separator: ", "))")
        }
        Threads.configure(o.threads)
        let bf16 = o.bf16 ?? (o.shape == "llama3-8b")
        let storage: LlamaWeights.StorageType = quantized ? .q4_K : bf16 ? .bf16 : .f32
        log("shape \(o.shape): \(config.parameterCount.digitsGrouped) parameters, \(storage.rawValue) base, seq \(o.seq) × batch \(o.batch), trained fraction \(o.trainedFraction), r=\(o.rank), threads \(Threads.count)\(o.gradientCheckpointing ? ", gradient checkpointing" : "")")
        try StepMemory(config: config, weightsInFloat32: storage == .f32,
                       encodedWeightBytes: storage == .q4_K ? LlamaWeights.randomQ4KBytes(config: config) : nil, rank: o.rank,
                       targets: Projection.allCases, rows: o.batch, rowLength: o.seq, longestSequence: o.seq, threads: Threads.count,
                       checkpointing: o.gradientCheckpointing, precision: o.precision.resolved())
            .check(available: ProcessMemory.availableBytes, what: "bench \(o.shape) at --seq \(o.seq) --batch \(o.batch)")
        let weights = LlamaWeights.random(config: config, seed: 1, storage: storage, distribution: .uniform)
        let model = LlamaModel(weights: weights)
        let lora = LoRAConfig(rank: o.rank, alpha: o.alpha)
        let adapters = LoRAAdapters.initialize(lora, model: config, seed: 2)
        // B = 0 would make the first steps special; small random B exercises every path.
        for (_, v) in adapters.namedParameters where v.value.columns == o.rank {
            for i in 0..<v.value.count { v.value[i] = (counterUniform(seed: 3, index: i) - 0.5) * 0.02 }
        }
        model.adapters = adapters
        let precision = weights.prepare(precision: o.precision)
        log(PrecisionReport.line(o.precision))
        let params = adapters.namedParameters.map(\.variable)
        let adam = AdamW(parameters: params, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0)

        // Random ids; the first (1 − f)·seq positions are untrained, like a masked prompt.
        var docs: [(ids: [Int], trained: [UInt8])] = []
        let untrained = Int((Double(o.seq) * (1 - o.trainedFraction)).rounded())
        for b in 0..<o.batch {
            let ids = (0..<o.seq).map { Int(counterUniform(seed: UInt64(10 + b), index: $0) * Float(config.vocabSize)) % config.vocabSize }
            docs.append((ids, (0..<o.seq).map { $0 < untrained ? 0 : 1 }))
        }
        let batch = ModelBatch(documents: docs)

        let sgemmPeak = measureSGEMMPeak()
        WorkProfile.enabled = o.profile
        defer { WorkProfile.enabled = false }
        var times: [Double] = [], losses: [Double] = []
        let clock = ContinuousClock()
        for step in 0..<(o.warmup + o.steps) {
            let t0 = clock.now
            adapters.zeroGrads()
            let tape = Tape()
            if step == o.warmup { WorkProfile.reset() }
            // model.lossSum, with the LM head + loss measured on its own.
            let hidden = model.forward(batch, tape: tape, checkpointing: o.gradientCheckpointing, dropoutSeed: UInt64(step))
            let sum = WorkProfile.measure(.lmHeadLoss) {
                tape.lmHeadCrossEntropy(hidden, weight: model.weights.lmHead, positions: batch.lossPositions, targets: batch.lossTargets)
            }
            tape.backward(from: sum, seedScale: 1 / Float(max(batch.targetCount, 1)))
            WorkProfile.measure(.optimizer) {
                clipGradients(params, maxNorm: 1)
                adam.update(params, lr: 1e-4)
            }
            let dt = (clock.now - t0).seconds
            let loss = Double(sum.value[0]) / Double(max(batch.targetCount, 1))
            losses.append(loss)
            log(String(format: "step %d %@ %.3f s  loss %.4f", step, step < o.warmup ? "warm " : "timed", dt, loss))
            if step >= o.warmup { times.append(dt) }
        }
        // The machine is shared: take the better of a peak measured before and after the steps.
        let peak = max(sgemmPeak, measureSGEMMPeak())
        let median = times.sorted()[times.count / 2]
        let tokens = Double(o.seq * o.batch)
        let flops = flopsPerToken(config, seq: o.seq, rank: o.rank, trainedFraction: Double(batch.targetCount) / tokens)
        let gflops = flops * tokens / median / 1e9
        var profile: [(kind: String, share: Double)] = []
        if o.profile {
            let total = times.reduce(0, +), measured = WorkProfile.seconds
            profile = WorkProfile.Kind.allCases.map { ($0.label, measured[$0]! / total) }
            profile.append(("rest: embedding, tape bookkeeping, gradient allocation", max(0, 1 - profile.reduce(0) { $0 + $1.share })))
            profile.sort { $0.share > $1.share }
        }
        return Result(shape: o.shape, tokensPerSecond: tokens / median, stepSeconds: times, peakRSSMiB: ProcessMemory.peakResidentMiB,
                      gflops: gflops, sgemmPeakGflops: peak, sgemmShare: gflops / peak, flopsPerToken: flops,
                      threads: Threads.count, losses: losses, precision: precision.rawValue, profile: profile)
    }

    /// Matmul FLOPs per token of one step, as the PyTorch reference counts them (forward 2P, backward
    /// 2P for activation gradients, LoRA weight gradients, attention 4·T·H·d forward per layer and twice
    /// that backward) — except that the LM head counts only the trained share of positions, because
    /// only those go through it here.
    public static func flopsPerToken(_ c: LlamaConfig, seq: Int, rank r: Int, trainedFraction: Double) -> Double {
        let h = Double(c.hiddenSize), f = Double(c.intermediateSize), layers = Double(c.numLayers), v = Double(c.vocabSize)
        let q = Double(c.numHeads * c.headDim), k = Double(c.numKVHeads * c.headDim)
        let pBase = layers * (h * q + 2 * h * k + q * h + 3 * h * f)
        let pHead = h * v * trainedFraction
        let shapes = [(h, q), (h, k), (h, k), (q, h), (h, f), (h, f), (f, h)]
        let pLoRA = layers * shapes.reduce(0) { $0 + Double(r) * ($1.0 + $1.1) }
        let attention = layers * 2 * 2 * Double(seq) * q
        let forward = 2 * (pBase + pHead + pLoRA) + attention
        let backward = 2 * (pBase + pHead) + 4 * pLoRA + 2 * attention
        return forward + backward
    }

    /// Best-of-5 GFLOP/s of a (512 × 2048) · (2048 × 2048) sgemm with the current thread count.
    static func measureSGEMMPeak() -> Double {
        let m = 512, k = 2048, n = 2048
        let a = Tensor(shape: [m, k], repeating: 0.01), b = Tensor(shape: [n, k], repeating: 0.02), c = Tensor(zeros: [m, n])
        var best = Double.infinity
        let clock = ContinuousClock()
        for _ in 0..<6 {
            let t0 = clock.now
            sgemm(transA: false, transB: true, m: m, n: n, k: k, a.data, lda: k, b.data, ldb: k, c.data, ldc: n)
            best = min(best, (clock.now - t0).seconds)
        }
        return 2 * Double(m * k * n) / best / 1e9
    }
}
