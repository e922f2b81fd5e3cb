import Seeds
import Tensors

/// Finite-difference gradient checker.
///
/// The checked function is `L = Σ_i y_i · r_i` for a fixed random projection `r` (so every output
/// element matters), summed in Double. Each parameter element is perturbed by ±h and the central
/// difference `(L(p+h) − L(p−h)) / 2h` compared with the tape's gradient (backward seeded with r).
/// The error is measured by norm over the whole tensor, `‖g_fd − g_ad‖ / ‖g_fd‖`, which is robust to
/// the Float rounding of individual tiny entries.
public enum GradCheck {
    public struct Result: CustomStringConvertible {
        public let name: String
        public let relativeError: Double
        public let gradientNorm: Double
        public var description: String { "\(name): rel err \(relativeError), |g| \(gradientNorm)" }
    }

    /// - Parameters:
    ///   - parameters: the variables to check (each must have `requiresGrad`).
    ///   - forward: builds the output on the given tape from the current parameter values.
    ///   - step: the finite-difference step h.
    public static func check(
        _ parameters: [(String, Variable)], step h: Float = 1e-2, seed: UInt64 = 1,
        forward: (Tape) -> Variable
    ) -> [Result] {
        // Fixed projection r from the output shape.
        let probeTape = Tape()
        let y0 = forward(probeTape)
        let r = Tensor(uninitialized: y0.shape)
        for i in 0..<r.count { r[i] = counterUniform(seed: seed, index: i) * 2 - 1 }
        for (_, p) in parameters { p.zeroGrad() }
        probeTape.backward(from: y0, seed: r)

        func objective() -> Double {
            let y = forward(Tape(recording: false))
            var s = 0.0
            for i in 0..<y.value.count { s += Double(y.value[i]) * Double(r[i]) }
            return s
        }

        var results: [Result] = []
        for (name, p) in parameters {
            let analytic = p.grad?.array ?? [Float](repeating: 0, count: p.value.count)
            var diff2 = 0.0, norm2 = 0.0, adNorm2 = 0.0
            for i in 0..<p.value.count {
                let orig = p.value[i]
                p.value[i] = orig + h
                let plus = objective()
                p.value[i] = orig - h
                let minus = objective()
                p.value[i] = orig
                let fd = (plus - minus) / (2 * Double(h))
                let ad = Double(analytic[i])
                diff2 += (fd - ad) * (fd - ad)
                norm2 += fd * fd
                adNorm2 += ad * ad
            }
            let denom = max(norm2.squareRoot(), adNorm2.squareRoot(), 1e-12)
            results.append(Result(name: name, relativeError: diff2.squareRoot() / denom, gradientNorm: adNorm2.squareRoot()))
        }
        return results
    }
}
