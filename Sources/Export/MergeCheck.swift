import Autodiff
import Foundation
import Llama
import SafeTensors
import Tensors

/// The post-export check of a merged model (docs/formats.md, Export): reload the written directory
/// with the project's own loader, run a fixed prompt through it and through base + adapter, and compare.
public struct MergeCheck: Sendable {
    /// Token ids of the prompt.
    public var prompt: [Int]
    /// max |merged − (base + adapter)| over all logits.
    public var maxAbsDifference: Float
    /// max |base + adapter| over all logits (the scale of the tolerance).
    public var maxAbsReference: Float
    /// The bound `maxAbsDifference` must stay within.
    public var tolerance: Float
    /// Fraction of positions where merged and base + adapter predict the same next token.
    public var argmaxAgreement: Double
    /// max |merged − base|: shows the adapter is in the merged weights.
    public var maxAbsFromBase: Float
    /// max |(base + adapter) − base|: how much the adapter changes the logits in the first place.
    public var adapterEffect: Float
    /// Why the check failed, or nil.
    public var failure: String?
    /// Warnings that do not fail the export.
    public var warnings: [String]

    public var passed: Bool { failure == nil }

    /// One line with the figures.
    public var summary: String {
        String(format: "max |Δlogit| %.3g (tolerance %.3g, max |logit| %.3g), argmax agreement %.1f%% (%d positions), "
               + "merged vs base max |Δ| %.3g (adapter effect %.3g)",
               maxAbsDifference, tolerance, maxAbsReference, argmaxAgreement * 100, prompt.count, maxAbsFromBase, adapterEffect)
    }

    /// Deterministic prompt: `length` ids spread over the vocabulary by a golden-ratio stride, kept below the
    /// Llama 3 special-token block (ids ≥ 128000 are control tokens, many untrained).
    public static func prompt(vocabSize: Int, length: Int = 32) -> [Int] {
        let usable = vocabSize >= 128_256 ? 128_000 : vocabSize
        let phi = 0.6180339887498949
        return (0..<length).map { i in min(usable - 1, Int((Double(i) * phi + 0.1).truncatingRemainder(dividingBy: 1) * Double(usable))) }
    }

    /// The tolerance for the least precise dtype the merged weights were written in.
    ///
    /// - f32: `1e-4·max(1, max|logit|)` — the merged weights differ from `W + s·B·A` only by fp32 rounding.
    /// - bf16 / f16: rounding each weight once moves it by up to half an ulp (2⁻⁹ relative for bf16, 2⁻¹²
    ///   for f16). A projection's output then moves by about that times √(in)·rms(W)·rms(x)/√3, i.e. a
    ///   relative ~2⁻⁹/√3 per projection, and these independent errors add up in quadrature through the
    ///   7·L projections; the logits are a sum of the residual stream. So the expected relative logit
    ///   error is ~2⁻⁹·√(7L/3), and the bound is 8× that: `8·u·√(7L/3)·max(1, max|logit|)` with u = 2⁻⁹
    ///   (bf16) or 2⁻¹² (f16); the max over T·V logits sits a few σ above the typical error, hence the 8.
    ///   Measured: bf16 exports of the tiny fixtures reach 0.17–0.31 of the bound (0.31 when an
    ///   F32 base is rounded whole), f16 0.26, a random 14-layer bf16 model 0.10. A dropped adapter, a
    ///   transposed ΔW or a wrong tensor name changes logits by O(1) relative and fails it; a slightly
    ///   mis-scaled adapter is caught only by the f32 bound (a 1 % scale error fails it).
    public static func tolerance(for dtype: DType, layers: Int, maxAbsReference: Float) -> Float {
        tolerance(unitRoundoff: unitRoundoff(dtype), layers: layers, maxAbsReference: maxAbsReference)
    }

    /// The same bound for a GGUF output type. Q8_0 rounds each weight to a step of max|block|/127, so its
    /// rms error is max|block|/(127·√12); max|block| ≈ 2.5·rms for 32 Gaussian values, which makes it the
    /// rms error of a unit roundoff u = 2.5·√3/(127·√12) ≈ 1/100 of the weights' size (5× bf16's).
    /// Measured on SmolLM2-135M (30 layers): 0.04 of the bound, against 0.06 for bf16 and 0.1 for f16.
    static func tolerance(ggufType type: GGUFOutputType, layers: Int, maxAbsReference: Float) -> Float {
        let u: Float?
        switch type {
        case .f32: u = nil
        case .f16: u = unitRoundoff(.f16)
        case .bf16: u = unitRoundoff(.bf16)
        case .q8_0: u = 1.0 / 100
        }
        return tolerance(unitRoundoff: u, layers: layers, maxAbsReference: maxAbsReference)
    }

    /// Half an ulp relative (2⁻⁹ for bf16, 2⁻¹² for f16); nil for f32.
    private static func unitRoundoff(_ dtype: DType) -> Float? {
        switch dtype {
        case .bf16: return 1.0 / 512
        case .f16: return 1.0 / 4096
        default: return nil
        }
    }

    private static func tolerance(unitRoundoff: Float?, layers: Int, maxAbsReference: Float) -> Float {
        let scale = max(1, maxAbsReference)
        guard let unitRoundoff else { return 1e-4 * scale }
        return 8 * unitRoundoff * (Float(7 * max(layers, 1)) / 3).squareRoot() * scale
    }

    /// Runs the check. `adapters` must be the adapter that was merged; `writtenDType` the least precise
    /// dtype among the merged tensors; `weightsChanged` whether any stored weight differs from the base.
    static func run(baseDirectory: String, mergedDirectory: String, adapters: LoRAAdapters,
                    writtenDType: DType, weightsChanged: Bool) throws -> MergeCheck {
        try run(baseDirectory: baseDirectory, mergedDirectory: mergedDirectory, adapters: adapters, roundedTo: writtenDType.rawValue,
                weightsChanged: weightsChanged) { tolerance(for: writtenDType, layers: $0, maxAbsReference: $1) }
    }

    /// The same check for a merged GGUF file (`mergedDirectory` is the file), with `type`'s tolerance.
    static func run(baseDirectory: String, mergedGGUF: String, adapters: LoRAAdapters, type: GGUFOutputType,
                    weightsChanged: Bool) throws -> MergeCheck {
        try run(baseDirectory: baseDirectory, mergedDirectory: mergedGGUF, adapters: adapters, roundedTo: type.rawValue,
                weightsChanged: weightsChanged) { tolerance(ggufType: type, layers: $0, maxAbsReference: $1) }
    }

    /// `bound(layers, max|reference logit|)` is the tolerance; `roundedTo` names the weights' type in messages.
    private static func run(baseDirectory: String, mergedDirectory: String, adapters: LoRAAdapters, roundedTo writtenDType: String,
                            weightsChanged: Bool, bound: (Int, Float) -> Float) throws -> MergeCheck {
        var reference: [Float] = [], base: [Float] = []
        let config: LlamaConfig
        do {
            let model = try LlamaModel.load(directory: baseDirectory)
            config = model.config
            model.adapters = adapters
            reference = logits(model, prompt(vocabSize: config.vocabSize))
            model.adapters = nil
            base = logits(model, prompt(vocabSize: config.vocabSize))
        }
        let ids = prompt(vocabSize: config.vocabSize)
        let mergedModel = try LlamaModel.load(directory: mergedDirectory)
        guard mergedModel.config.vocabSize == config.vocabSize else {
            throw ExportError.checkFailed(output: mergedDirectory, reason: "the merged config.json has vocab_size \(mergedModel.config.vocabSize), the base \(config.vocabSize)")
        }
        let merged = logits(mergedModel, ids)

        var maxDiff: Float = 0, maxRef: Float = 0, fromBase: Float = 0, effect: Float = 0
        for i in reference.indices {
            maxDiff = max(maxDiff, abs(merged[i] - reference[i]))
            maxRef = max(maxRef, abs(reference[i]))
            fromBase = max(fromBase, abs(merged[i] - base[i]))
            effect = max(effect, abs(reference[i] - base[i]))
        }
        if !maxDiff.isFinite || merged.contains(where: { !$0.isFinite }) { maxDiff = .infinity }
        let v = config.vocabSize
        var agree = 0
        for t in 0..<ids.count where argmax(merged, row: t, width: v) == argmax(reference, row: t, width: v) { agree += 1 }

        let tolerance = bound(config.numLayers, maxRef)
        var failure: String?
        var warnings: [String] = []
        if !(maxDiff <= tolerance) {
            failure = "the merged model's logits differ from base + adapter by \(maxDiff), more than the tolerance \(tolerance) for \(writtenDType) weights"
        } else if weightsChanged && fromBase == 0 {
            failure = "the merged weights differ from the base, yet the reloaded model's logits equal the base's: the merged tensors are not being read"
        }
        if !weightsChanged {
            warnings.append(effect == 0
                ? "the adapter is zero (B = 0, e.g. an untrained step-0 adapter): the merged model equals the base"
                : "every weight update was lost to \(writtenDType) rounding: the merged model equals the base; export with --dtype f32 to keep it")
        }
        return MergeCheck(prompt: ids, maxAbsDifference: maxDiff, maxAbsReference: maxRef, tolerance: tolerance,
                          argmaxAgreement: Double(agree) / Double(max(ids.count, 1)), maxAbsFromBase: fromBase,
                          adapterEffect: effect, failure: failure, warnings: warnings)
    }

    /// Full logits `[T, V]` of one sequence, flattened.
    static func logits(_ model: LlamaModel, _ ids: [Int]) -> [Float] {
        let hidden = model.forward(ModelBatch(sequences: [ids], labels: nil), tape: Tape(recording: false))
        return model.logits(hidden: hidden.value).array
    }

    static func argmax(_ x: [Float], row: Int, width: Int) -> Int {
        var best = 0
        var value = -Float.infinity
        for j in 0..<width where x[row * width + j] > value {
            value = x[row * width + j]
            best = j
        }
        return best
    }
}
