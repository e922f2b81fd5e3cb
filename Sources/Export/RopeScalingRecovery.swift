import Foundation
import Llama

/// Recovers Hugging Face's `rope_scaling` (`rope_type` `llama3`) from the per-frequency divisors llama.cpp
/// stores as `rope_freqs.weight` (docs/gguf.md, RoPE scaling).
///
/// llama.cpp's converter computes divisor i from the wavelength λᵢ = 2π·θ^(2i/d): 1 when λ < L/high,
/// `factor` when λ > L/low, else 1 / ((1 − s)/factor + s) with s = (L/λ − low)/(high − low). So `factor` is
/// the largest divisor, and every divisor strictly between 1 and `factor` gives s, which is linear in 1/λ:
/// s = a/λ + b with a = L/(high − low), b = −low/(high − low). Only a and b are determined — (L, low, high)
/// and (kL, k·low, k·high) give the same divisors — so `low_freq_factor` is set to 1 (as every Llama 3.1
/// and 3.2 uses) and L, high follow; the result is accepted only if it reproduces every stored divisor.
enum RopeScalingRecovery {
    /// The llama3 parameters, `.none` when every divisor is 1. Throws when no llama3 rule reproduces them.
    static func llama3(factors: [Float], config c: LlamaConfig, path: String) throws -> RopeScaling {
        guard let largest = factors.max(), largest > 1 else { return .none }
        let factor = Double(largest)
        var xs: [Double] = [], ys: [Double] = []
        for (i, f) in factors.enumerated() where f > 1 && f < largest {
            let wavelength = 2 * Double.pi * pow(c.ropeTheta, Double(2 * i) / Double(c.headDim))
            xs.append(1 / wavelength)
            ys.append((1 / Double(f) - 1 / factor) / (1 - 1 / factor))
        }
        var candidates: [RopeScaling] = []
        if xs.count >= 2 {
            // Least squares for s = a·x + b.
            let n = Double(xs.count)
            let mx = xs.reduce(0, +) / n, my = ys.reduce(0, +) / n
            let sxx = zip(xs, xs).map { ($0 - mx) * ($1 - mx) }.reduce(0, +)
            let sxy = zip(xs, ys).map { ($0 - mx) * ($1 - my) }.reduce(0, +)
            let a = sxy / sxx, b = my - a * mx
            if a > 0, b < 0 {
                let original = (-a / b).rounded()
                let high = ((1 - 1 / b) * 1e6).rounded() / 1e6
                candidates.append(.llama3(factor: factor, lowFreqFactor: 1, highFreqFactor: high, originalMaxPositions: original))
            }
        }
        // Too few blended divisors to fit: Meta's published values, if they reproduce the file.
        candidates.append(.llama3(factor: factor, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192))
        for scaling in candidates {
            var trial = c
            trial.ropeScaling = scaling
            let again = GGUFModelPlan.ropeFreqs(trial)
            if again.count == factors.count, zip(again, factors).allSatisfy({ abs($0 - $1) <= 1e-5 * max(1, abs($1)) }) {
                return scaling
            }
        }
        throw ExportError.unsupportedTensor(file: path, tensor: "rope_freqs.weight", reason: "its RoPE divisors fit no llama3 rope_scaling that "
            + "config.json could hold; export --format gguf, which keeps them as they are")
    }

    /// config.json's `rope_scaling` value as JSON text (`null` without scaling).
    static func json(_ scaling: RopeScaling) -> String {
        guard case let .llama3(factor, low, high, original) = scaling else { return "null" }
        return "{\n    \"factor\": \(factor),\n    \"high_freq_factor\": \(high),\n    \"low_freq_factor\": \(low),\n"
            + "    \"original_max_position_embeddings\": \(Int(original)),\n    \"rope_type\": \"llama3\"\n  }"
    }
}
