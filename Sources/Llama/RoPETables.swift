import Foundation
import Tensors

/// RoPE frequencies and per-row cos/sin tables (REFERENCE §1.4, §1.5).
public struct RoPEFrequencies: Sendable {
    /// `f[i]` for i = 0 ..< headDim/2, after llama3 scaling, as fp32 (HF computes them in fp32).
    public let frequencies: [Float]

    public init(config: LlamaConfig) {
        self.init(headDim: config.headDim, theta: config.ropeTheta, scaling: config.ropeScaling)
    }

    public init(headDim d: Int, theta: Double, scaling: RopeScaling) {
        var f: [Float] = []
        for i in 0..<(d / 2) {
            // inv_freq = 1 / theta^(2i/d): HF evaluates this in fp32; Double then rounding agrees to an ulp.
            let inv = Float(1.0 / Foundation.pow(theta, Double(2 * i) / Double(d)))
            switch scaling {
            case .none:
                f.append(inv)
            case .frequencyFactors(let factors):
                f.append(inv / factors[i])  // fp32 division, as ggml's rope kernel applies freq_factors
            case .llama3(let factor, let low, let high, let original):
                // Wavelength bands: short waves unchanged, long waves ÷ factor, a linear blend between.
                let invD = Double(inv)
                let wavelength = 2 * Double.pi / invD
                let lowWavelength = original / low, highWavelength = original / high
                if wavelength < highWavelength {
                    f.append(inv)
                } else if wavelength > lowWavelength {
                    f.append(Float(invD / factor))
                } else {
                    let mu = (original / wavelength - low) / (high - low)
                    f.append(Float((1 - mu) * invD / factor + mu * invD))
                }
            }
        }
        frequencies = f
    }

    /// cos and sin tables `[N, d/2]` for the given per-row positions: `θ = p·f[i]`, the product in
    /// fp32 as HF computes it, the trigonometry in Double then rounded.
    public func tables(positions: [Int]) -> (cos: Tensor, sin: Tensor) {
        let half = frequencies.count
        let c = Tensor(uninitialized: [positions.count, half]), s = Tensor(uninitialized: [positions.count, half])
        for (row, p) in positions.enumerated() {
            for i in 0..<half {
                let angle = Float(p) * frequencies[i]
                c[row * half + i] = Float(Foundation.cos(Double(angle)))
                s[row * half + i] = Float(Foundation.sin(Double(angle)))
            }
        }
        return (c, s)
    }
}
