import Foundation
import RunLayout
import SafeTensors
import Tensors

/// Reads and writes PEFT LoRA adapter directories: `adapter_config.json` + `adapter_model.safetensors`.
public enum PEFTAdapter {
    /// What `adapter_config.json` says, beyond the LoRA config.
    public struct Metadata: Sendable {
        public var baseModelNameOrPath: String?
    }

    /// Loads an adapter for a model with `model` config. Targets, rank and shapes must be consistent;
    /// every tensor the config implies must be present (errors name the file and the tensor).
    public static func load(directory: String, model: LlamaConfig) throws -> (LoRAAdapters, Metadata) {
        let configPath = (directory as NSString).appendingPathComponent(RunLayout.adapterConfigFile)
        guard let data = FileManager.default.contents(atPath: configPath) else {
            throw LlamaError.unreadable(path: configPath, reason: "cannot read the adapter config; a PEFT adapter directory has adapter_config.json and adapter_model.safetensors")
        }
        guard let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw LlamaError.unreadable(path: configPath, reason: "not a JSON object")
        }
        let reader = ConfigReader(json: json, file: configPath)
        if let type = try reader.optionalString("peft_type"), type != "LORA" {
            throw LlamaError.unsupported(file: configPath, what: "peft_type \"\(type)\" (only LORA)")
        }
        let r = try reader.int("r", hint: "PEFT would silently assume 8; write the rank explicitly.")
        guard r <= 65536 else { throw LlamaError.badValue(file: configPath, key: "r", reason: "\(r) is beyond any LoRA rank (at most 65536)") }
        guard let alpha = try reader.optionalNumber("lora_alpha") else {
            throw LlamaError.missingKey(file: configPath, key: "lora_alpha", hint: "PEFT would silently assume 8; write lora_alpha explicitly.")
        }
        guard alpha > 0, alpha <= 1e6 else {
            throw LlamaError.badValue(file: configPath, key: "lora_alpha", reason: "\(alpha) must be a positive number up to 1e6 (commonly 2 × r)")
        }
        let dropout = try reader.optionalNumber("lora_dropout") ?? 0
        guard dropout >= 0, dropout < 1 else {
            throw LlamaError.badValue(file: configPath, key: "lora_dropout", reason: "\(dropout) must be in [0, 1)")
        }
        if try reader.bool("use_dora", default: false) { throw LlamaError.unsupported(file: configPath, what: "use_dora: true") }
        if try reader.bool("fan_in_fan_out", default: false) { throw LlamaError.unsupported(file: configPath, what: "fan_in_fan_out: true") }
        if let bias = json["bias"] as? String, bias != "none" { throw LlamaError.unsupported(file: configPath, what: "bias \"\(bias)\"") }
        for key in ["rank_pattern", "alpha_pattern"] {
            if let d = json[key] as? [String: Any], !d.isEmpty { throw LlamaError.unsupported(file: configPath, what: "a non-empty \(key)") }
        }
        if let l = json["layers_to_transform"], !(l is NSNull) { throw LlamaError.unsupported(file: configPath, what: "layers_to_transform") }
        if let m = json["modules_to_save"] as? [Any], !m.isEmpty { throw LlamaError.unsupported(file: configPath, what: "modules_to_save") }

        let targets: [Projection]
        if let list = json["target_modules"] as? [String] {
            targets = try list.map { name in
                guard let p = Projection(rawValue: name) else {
                    throw LlamaError.unsupported(file: configPath, what: "target module \"\(name)\" (supported: \(Projection.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                return p
            }
        } else if let s = json["target_modules"] as? String, s == "all-linear" {
            targets = Projection.allCases
        } else {
            throw LlamaError.badValue(file: configPath, key: "target_modules", reason: "expected a list of projection names or \"all-linear\"")
        }
        let ordered = Projection.allCases.filter(targets.contains)
        let config = LoRAConfig(rank: r, alpha: alpha, dropout: dropout,
                                rslora: try reader.bool("use_rslora", default: false), targets: ordered)

        let weightsPath = (directory as NSString).appendingPathComponent(RunLayout.adapterWeightsFile)
        let file = try SafeTensorsFile(path: weightsPath)
        var pairs: [[Projection: LoRAPair]] = []
        var expected = Set<String>()
        for layer in 0..<model.numLayers {
            var row: [Projection: LoRAPair] = [:]
            for p in ordered {
                let shape = p.shape(model)
                let a = try tensor(file, PEFTNames.key(layer: layer, projection: p, matrix: "A"), [r, shape[1]])
                let b = try tensor(file, PEFTNames.key(layer: layer, projection: p, matrix: "B"), [shape[0], r])
                expected.insert(PEFTNames.key(layer: layer, projection: p, matrix: "A"))
                expected.insert(PEFTNames.key(layer: layer, projection: p, matrix: "B"))
                row[p] = LoRAPair(a: .init(a, requiresGrad: true), b: .init(b, requiresGrad: true))
            }
            pairs.append(row)
        }
        // Tensors in the file that this model would ignore mean a mismatch (another model, more layers, DoRA…).
        if let extra = file.names.first(where: { !expected.contains($0) }) {
            throw LlamaError.adapterMismatch(file: weightsPath, reason: "tensor \"\(extra)\" does not belong to a LoRA adapter of this model (\(model.numLayers) layers, targets \(ordered.map(\.rawValue)))")
        }
        let meta = Metadata(baseModelNameOrPath: json["base_model_name_or_path"] as? String)
        return (LoRAAdapters(config: config, pairs: pairs), meta)
    }

    private static func tensor(_ file: SafeTensorsFile, _ name: String, _ shape: [Int]) throws -> Tensor {
        guard let info = file.info(name) else { throw LlamaError.missingTensor(file: file.path, name: name) }
        guard info.shape == shape else { throw LlamaError.wrongShape(file: file.path, name: name, expected: shape, found: info.shape) }
        let t = Tensor(uninitialized: shape)
        try file.readFloat32(name, into: t.data, count: t.count)
        return t
    }

    /// `adapter_config.json` in the shape PEFT writes (docs/formats.md, LoRA), keys sorted for stable bytes.
    public static func configJSON(_ config: LoRAConfig, baseModel: String?) -> Data {
        let object: [String: Any] = [
            "alpha_pattern": [String: Any](),
            "auto_mapping": NSNull(),
            "base_model_name_or_path": baseModel.map { $0 as Any } ?? NSNull(),
            "bias": "none",
            "fan_in_fan_out": false,
            "inference_mode": true,
            "init_lora_weights": true,
            "layers_pattern": NSNull(),
            "layers_to_transform": NSNull(),
            "lora_alpha": config.alpha == config.alpha.rounded() && abs(config.alpha) < 0x1p53 ? Int(config.alpha) as Any : config.alpha as Any,
            "lora_dropout": config.dropout,
            "modules_to_save": NSNull(),
            "peft_type": "LORA",
            "r": config.rank,
            "rank_pattern": [String: Any](),
            "revision": NSNull(),
            "target_modules": config.targets.map(\.rawValue),
            "task_type": "CAUSAL_LM",
            "use_dora": false,
            "use_rslora": config.rslora,
        ]
        return (try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])) ?? Data()
    }

    /// Writes the adapter as a PEFT directory (fp32 tensors, `{"format":"pt"}`), each file atomically.
    public static func save(_ adapters: LoRAAdapters, baseModel: String?, to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let tensors = adapters.namedParameters.map { name, v in
            TensorToWrite.float32(name: name, shape: v.value.shape, data: v.value.array)
        }
        try SafeTensorsWriter.write(tensors, to: (directory as NSString).appendingPathComponent(RunLayout.adapterWeightsFile))
        try AtomicFile.write(configJSON(adapters.config, baseModel: baseModel),
                             to: (directory as NSString).appendingPathComponent(RunLayout.adapterConfigFile))
    }
}
