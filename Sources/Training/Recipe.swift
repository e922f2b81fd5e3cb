import ChatData
import Foundation
import StrictJSON
import Llama
import Tensors

/// A training recipe (`recipe.json`), validated and with every default filled in.
///
/// Keys and defaults are documented in docs/recipe.md. Relative paths are resolved against the
/// current directory when the recipe is loaded, so the resolved recipe saved beside each checkpoint
/// works from anywhere.
public struct Recipe: Sendable, Equatable {
    public struct DataSection: Sendable, Equatable {
        public var train: String
        public var eval: String?
        public var evalFraction = 0.0
        public var format = DatasetFormat.auto
        public var template = ChatTemplate.llama3
        public var templateDate = ChatTemplate.defaultDate
        public var systemPrompt: String?
        public var trainOn = TrainOn.assistant
        public var maxSeqLen = 2048
        public var truncation = Truncation.keepStart
        public var packing = false
        public var shuffle = true
        public var onInvalid = OnInvalid.error
    }

    public struct LoRA: Sendable, Equatable {
        public var rank = 8
        public var alpha = 16.0
        public var dropout = 0.0
        public var rslora = false
        public var targets: [Projection] = Projection.allCases
        public var initFrom: String?
    }

    public struct Optimizer: Sendable, Equatable {
        public var lr = 2e-4
        public var betas = [0.9, 0.999]
        public var eps = 1e-8
        public var weightDecay = 0.0
        public var maxGradNorm: Double? = 1.0
    }

    public struct Schedule: Sendable, Equatable {
        public var type = ScheduleType.cosine
        public var warmupSteps = 0
        public var warmupRatio = 0.0
        public var minLrRatio = 0.0
    }

    public struct Train: Sendable, Equatable {
        public var epochs = 1
        public var maxSteps: Int?
        public var batchSize = 1
        public var gradAccum = 1
        public var seed = 42
        public var gradientCheckpointing = false
        public var threads: Int?
        /// fp32 | bf16 | auto: how the frozen-base products are computed (docs/precision.md).
        public var precision = Precision.fp32
    }

    public struct Eval: Sendable, Equatable {
        public var everySteps = 0
        public var maxBatches: Int?
    }

    public struct Checkpoint: Sendable, Equatable {
        public var everySteps = 100
        public var keepLast = 3
    }

    public var model: String
    public var tokenizer: String?
    public var data: DataSection
    public var lora = LoRA()
    public var optimizer = Optimizer()
    public var schedule = Schedule()
    public var train = Train()
    public var eval = Eval()
    public var checkpoint = Checkpoint()
    public var outputDir: String

    /// Loads and validates `path`; relative paths inside are resolved against `baseDirectory`
    /// (default: the current directory).
    public static func load(path: String, baseDirectory: String? = nil) throws -> Recipe {
        guard let bytes = FileManager.default.contents(atPath: path) else {
            throw RecipeError(file: path, key: "", "cannot read the recipe file")
        }
        return try parse(bytes, file: path, baseDirectory: baseDirectory ?? FileManager.default.currentDirectoryPath)
    }

    public static func parse(_ bytes: Data, file: String, baseDirectory: String) throws -> Recipe {
        // The strict parser: a key written twice is an error (JSONSerialization would keep the last one).
        let json: Any
        do { json = try JSONParser.parse(bytes).foundationValue } catch let error as JSONParseError {
            let line = JSONParser.line(atOffset: error.offset, in: [UInt8](bytes))
            throw RecipeError(file: file, key: "", "is not valid JSON (\(error.reason), line \(line))")
        }
        guard let object = json as? [String: Any] else { throw RecipeError(file: file, key: "", "must be a JSON object {…}") }
        let top = JSONObjectReader(object, file: file)
        try top.rejectUnknownKeys(["model", "tokenizer", "data", "lora", "optimizer", "schedule", "train", "eval", "checkpoint", "output_dir"])
        // Absolute paths are standardized too: "out/" and "/x/out/" must not keep a trailing slash
        // (`--restart` appends ".old-…" to output_dir); "~/…" is the home folder, as in a shell.
        func resolve(_ p: String) -> String {
            let expanded = p.hasPrefix("~") ? (p as NSString).expandingTildeInPath : p
            let url = expanded.hasPrefix("/") ? URL(fileURLWithPath: expanded) : URL(fileURLWithPath: baseDirectory).appendingPathComponent(expanded)
            return url.standardizedFileURL.path
        }
        guard let model = try top.optionalString("model") else {
            throw top.error("model", "is required: the Hugging Face model directory to fine-tune")
        }

        let d = try top.section("data")
        try d.rejectUnknownKeys(["train", "eval", "eval_fraction", "format", "template", "template_date", "system_prompt",
                                 "train_on", "max_seq_len", "truncation", "packing", "shuffle", "on_invalid"])
        guard let trainFile = try d.optionalString("train") else { throw d.error("train", "is required: the training dataset (a JSONL, JSON or Parquet file, a directory, or a glob of shards)") }
        var data = DataSection(train: resolve(trainFile))
        data.eval = try d.optionalString("eval").map(resolve)
        data.evalFraction = try d.double("eval_fraction", default: 0, range: 0...0.99)
        if data.eval != nil && data.evalFraction > 0 { throw d.error("eval_fraction", "set either \"data.eval\" or \"data.eval_fraction\", not both") }
        data.format = try d.choice("format", default: .auto, DatasetFormat.self, allowed: DatasetFormat.allCases)
        data.template = try d.choice("template", default: .llama3, ChatTemplate.self, allowed: ChatTemplate.allCases)
        if d.isNull("template"), case .gguf(let path) = ModelSource(path: resolve(model)), data.format != .tokenized {
            // A GGUF model names its own chat format; the recipe can always override it.
            data.template = try ModelTokenizer.chatTemplate(gguf: path) ?? data.template
        }
        data.templateDate = try d.string("template_date", default: ChatTemplate.defaultDate)
        data.systemPrompt = try d.optionalString("system_prompt")
        data.trainOn = try d.choice("train_on", default: .assistant, TrainOn.self, allowed: TrainOn.allCases)
        data.maxSeqLen = try d.int("max_seq_len", default: 2048, min: 2)
        data.truncation = try d.choice("truncation", default: .keepStart, Truncation.self, allowed: Truncation.allCases)
        data.packing = try d.bool("packing", default: false)
        data.shuffle = try d.bool("shuffle", default: true)
        data.onInvalid = try d.choice("on_invalid", default: .error, OnInvalid.self, allowed: OnInvalid.allCases)

        let l = try top.section("lora")
        try l.rejectUnknownKeys(["rank", "alpha", "dropout", "rslora", "targets", "init_from"])
        var lora = LoRA()
        lora.rank = try l.int("rank", default: 8, min: 1)
        lora.alpha = try l.double("alpha", default: 16, range: 1e-6...1e6)
        lora.dropout = try l.double("dropout", default: 0, range: 0...0.95)
        lora.rslora = try l.bool("rslora", default: false)
        if let names = try l.stringList("targets") {
            if names.isEmpty { throw l.error("targets", "needs at least one projection") }
            lora.targets = try names.map { n in
                guard let p = Projection(rawValue: n) else {
                    let all = Projection.allCases.map(\.rawValue)
                    let hint = spellingSuggestion(for: n, among: all).map { " (did you mean \"\($0)\"?)" } ?? ""
                    throw l.error("targets", "\"\(n)\" is not a projection\(hint); choose from \(all.joined(separator: ", "))")
                }
                return p
            }
            lora.targets = Projection.allCases.filter(lora.targets.contains)
        }
        lora.initFrom = try l.optionalString("init_from").map(resolve)

        let o = try top.section("optimizer")
        try o.rejectUnknownKeys(["lr", "betas", "eps", "weight_decay", "max_grad_norm"])
        var opt = Optimizer()
        opt.lr = try o.double("lr", default: 2e-4, range: 0...10)
        if let betas = try o.doubleList("betas") {
            guard betas.count == 2, betas.allSatisfy({ $0 >= 0 && $0 < 1 }) else { throw o.error("betas", "expected two numbers in [0, 1), e.g. [0.9, 0.999]") }
            opt.betas = betas
        }
        opt.eps = try o.double("eps", default: 1e-8, range: 0...1)
        guard opt.eps > 0 else {
            throw o.error("eps", "must be positive (AdamW uses 1e-8): with 0, a parameter whose gradient is 0 divides 0 by 0 and the run ends in NaN")
        }
        opt.weightDecay = try o.double("weight_decay", default: 0, range: 0...10)
        // Absent → 1.0 (HF default); null or 0 → no clipping.
        if o.object["max_grad_norm"] is NSNull {
            opt.maxGradNorm = nil
        } else {
            let v = try o.double("max_grad_norm", default: 1, range: 0...1e9)
            opt.maxGradNorm = v > 0 ? v : nil
        }

        let s = try top.section("schedule")
        try s.rejectUnknownKeys(["type", "warmup_steps", "warmup_ratio", "min_lr_ratio"])
        var sched = Schedule()
        sched.type = try s.choice("type", default: .cosine, ScheduleType.self, allowed: ScheduleType.allCases)
        sched.warmupSteps = try s.int("warmup_steps", default: 0, min: 0)
        sched.warmupRatio = try s.double("warmup_ratio", default: 0, range: 0...1)
        sched.minLrRatio = try s.double("min_lr_ratio", default: 0, range: 0...1)

        let t = try top.section("train")
        try t.rejectUnknownKeys(["epochs", "max_steps", "batch_size", "grad_accum", "seed", "gradient_checkpointing", "threads", "precision"])
        var train = Train()
        train.epochs = try t.int("epochs", default: 1, min: 1)
        train.maxSteps = try t.optionalInt("max_steps", min: 1)
        train.batchSize = try t.int("batch_size", default: 1, min: 1)
        train.gradAccum = try t.int("grad_accum", default: 1, min: 1)
        train.seed = try t.int("seed", default: 42, min: 0)
        train.gradientCheckpointing = try t.bool("gradient_checkpointing", default: false)
        train.threads = try t.optionalInt("threads", min: 1)
        train.precision = try t.choice("precision", default: .fp32, Precision.self, allowed: Precision.allCases)

        let e = try top.section("eval")
        try e.rejectUnknownKeys(["every_steps", "max_batches"])
        let eval = Eval(everySteps: try e.int("every_steps", default: 0, min: 0), maxBatches: try e.optionalInt("max_batches", min: 1))

        let c = try top.section("checkpoint")
        try c.rejectUnknownKeys(["every_steps", "keep_last"])
        let checkpoint = Checkpoint(everySteps: try c.int("every_steps", default: 100, min: 0), keepLast: try c.int("keep_last", default: 3, min: 1))

        guard let out = try top.optionalString("output_dir") else {
            throw top.error("output_dir", "is required: where checkpoints and the adapter are written, e.g. \"checkpoints/my-run\"")
        }
        guard !out.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw top.error("output_dir", "is empty, which would mean the recipe's own folder; name a folder for this run, e.g. \"checkpoints/my-run\"")
        }
        return Recipe(model: resolve(model), tokenizer: try top.optionalString("tokenizer").map(resolve), data: data, lora: lora,
                      optimizer: opt, schedule: sched, train: train, eval: eval, checkpoint: checkpoint, outputDir: resolve(out))
    }

    /// The resolved recipe as JSON (every key, defaults filled in), keys sorted: saved beside
    /// checkpoints and hashed to detect changes on resume.
    public var json: [String: Any] {
        func opt(_ v: Any?) -> Any { v ?? NSNull() }
        return [
            "model": model, "tokenizer": opt(tokenizer), "output_dir": outputDir,
            "data": ["train": data.train, "eval": opt(data.eval), "eval_fraction": data.evalFraction, "format": data.format.rawValue,
                     "template": data.template.rawValue, "template_date": data.templateDate, "system_prompt": opt(data.systemPrompt),
                     "train_on": data.trainOn.rawValue, "max_seq_len": data.maxSeqLen, "truncation": data.truncation.rawValue,
                     "packing": data.packing, "shuffle": data.shuffle, "on_invalid": data.onInvalid.rawValue] as [String: Any],
            "lora": ["rank": lora.rank, "alpha": lora.alpha, "dropout": lora.dropout, "rslora": lora.rslora,
                     "targets": lora.targets.map(\.rawValue), "init_from": opt(lora.initFrom)] as [String: Any],
            "optimizer": ["lr": optimizer.lr, "betas": optimizer.betas, "eps": optimizer.eps, "weight_decay": optimizer.weightDecay,
                          "max_grad_norm": opt(optimizer.maxGradNorm)] as [String: Any],
            "schedule": ["type": schedule.type.rawValue, "warmup_steps": schedule.warmupSteps, "warmup_ratio": schedule.warmupRatio,
                         "min_lr_ratio": schedule.minLrRatio] as [String: Any],
            "train": ["epochs": train.epochs, "max_steps": opt(train.maxSteps), "batch_size": train.batchSize, "grad_accum": train.gradAccum,
                      "seed": train.seed, "gradient_checkpointing": train.gradientCheckpointing, "threads": opt(train.threads),
                      "precision": train.precision.rawValue] as [String: Any],
            "eval": ["every_steps": eval.everySteps, "max_batches": opt(eval.maxBatches)] as [String: Any],
            "checkpoint": ["every_steps": checkpoint.everySteps, "keep_last": checkpoint.keepLast] as [String: Any],
        ]
    }

    public var jsonData: Data {
        (try? JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys])) ?? Data()
    }

    /// The data options of the pipeline.
    public var dataOptions: DataOptions {
        DataOptions(train: data.train, eval: data.eval, evalFraction: data.evalFraction, format: data.format,
                    template: data.template, templateDate: data.templateDate, systemPrompt: data.systemPrompt,
                    trainOn: data.trainOn, maxSeqLen: data.maxSeqLen, truncation: data.truncation, packing: data.packing,
                    shuffle: data.shuffle, onInvalid: data.onInvalid, seed: UInt64(train.seed))
    }

    public var loraConfig: LoRAConfig {
        LoRAConfig(rank: lora.rank, alpha: lora.alpha, dropout: lora.dropout, rslora: lora.rslora, targets: lora.targets)
    }
}
