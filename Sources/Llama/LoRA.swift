import Autodiff
import Foundation
import Seeds
import Tensors

/// LoRA hyper-parameters (REFERENCE §5).
public struct LoRAConfig: Sendable, Equatable {
    public var rank: Int
    public var alpha: Double
    public var dropout: Double
    public var rslora: Bool
    public var targets: [Projection]

    public init(rank: Int, alpha: Double, dropout: Double = 0, rslora: Bool = false, targets: [Projection] = Projection.allCases) {
        self.rank = rank; self.alpha = alpha; self.dropout = dropout; self.rslora = rslora; self.targets = targets
    }

    /// `alpha / r`, or `alpha / sqrt(r)` with rsLoRA (PEFT `layer.py`).
    public var scale: Float {
        Float(rslora ? alpha / Double(rank).squareRoot() : alpha / Double(rank))
    }
}

/// One adapted projection: `A [r, in]` and `B [out, r]`, both trainable.
public struct LoRAPair: Sendable {
    public let a: Variable
    public let b: Variable

    public init(a: Variable, b: Variable) {
        self.a = a
        self.b = b
    }
}

/// The trainable LoRA tensors of every targeted projection in every layer.
public final class LoRAAdapters: @unchecked Sendable {
    public let config: LoRAConfig
    /// `pairs[layer][projection]`.
    public let pairs: [[Projection: LoRAPair]]

    public init(config: LoRAConfig, pairs: [[Projection: LoRAPair]]) {
        self.config = config
        self.pairs = pairs
    }

    /// PEFT's default initialisation: `A ~ U(−1/√in, 1/√in)` (kaiming-uniform with a = √5), `B = 0`,
    /// so the adapted model starts equal to the base. Deterministic in `seed`.
    public static func initialize(_ config: LoRAConfig, model: LlamaConfig, seed: UInt64) -> LoRAAdapters {
        var pairs: [[Projection: LoRAPair]] = []
        for layer in 0..<model.numLayers {
            var row: [Projection: LoRAPair] = [:]
            for p in config.targets {
                let shape = p.shape(model)  // [out, in]
                let a = Tensor(uninitialized: [config.rank, shape[1]])
                let bound = 1 / Float(shape[1]).squareRoot()
                let s = deriveSeed(seed, layer, p.index)
                for i in 0..<a.count { a[i] = (counterUniform(seed: s, index: i) * 2 - 1) * bound }
                row[p] = LoRAPair(a: Variable(a, requiresGrad: true), b: Variable(Tensor(zeros: [shape[0], config.rank]), requiresGrad: true))
            }
            pairs.append(row)
        }
        return LoRAAdapters(config: config, pairs: pairs)
    }

    /// Every trainable tensor with its PEFT name, in a fixed order (layer, then projection order).
    public var namedParameters: [(name: String, variable: Variable)] {
        var out: [(String, Variable)] = []
        for (layer, row) in pairs.enumerated() {
            for p in Projection.allCases {
                guard let pair = row[p] else { continue }
                out.append((PEFTNames.key(layer: layer, projection: p, matrix: "A"), pair.a))
                out.append((PEFTNames.key(layer: layer, projection: p, matrix: "B"), pair.b))
            }
        }
        return out
    }

    public var parameterCount: Int { namedParameters.reduce(0) { $0 + $1.variable.value.count } }

    public func zeroGrads() { for (_, v) in namedParameters { v.zeroGrad() } }
}

/// Adapter tensor names as PEFT writes them (REFERENCE §5): the PeftModel → LoraModel wrappers give
/// the `base_model.model.` prefix; the in-memory adapter name (`.default`) is not in the file.
public enum PEFTNames {
    public static func key(layer: Int, projection: Projection, matrix: String) -> String {
        "base_model.model.\(projection.path(layer: layer)).lora_\(matrix).weight"
    }
}
