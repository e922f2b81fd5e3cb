import Foundation
import GGUF
import Llama
import SafeTensors
import Tensors

/// What an export wrote and measured.
public struct ExportReport: Sendable {
    public enum Kind: String, Sendable {
        case merged = "merged model"
        case adapter = "PEFT adapter"
        case ggufModel = "merged GGUF model"
        case ggufAdapter = "llama.cpp LoRA adapter (GGUF)"
    }

    public var kind: Kind
    /// The installed output directory.
    public var output: String
    public var source: ExportSource
    public var baseModel: String
    public var lora: LoRAConfig
    /// File names in the output directory.
    public var files: [String]
    /// Tensors written (merged: the whole model; adapter: the LoRA tensors).
    public var tensorCount: Int = 0
    /// Adapted projections merged.
    public var mergedTensorCount: Int = 0
    /// Bytes of tensor data written.
    public var weightBytes: Int = 0
    /// Safetensors files written (1 = `model.safetensors` without an index).
    public var shardCount: Int = 0
    /// Output dtypes, most common first.
    public var dtypes: [String] = []
    /// Base tensors left out on purpose, with the reason.
    public var droppedTensors: [String] = []
    /// Merged weight entries whose delta is non-zero, and how many of them rounding erased.
    public var changedEntries: Int = 0
    public var lostEntries: Int = 0
    /// The post-export logits check (merged exports, unless disabled).
    public var check: MergeCheck?
    /// The adapter round-trip check result (adapter exports, unless disabled).
    public var adapterRoundTrip: String?
    /// The merged GGUF's read-back check (the file reopened by the strict reader).
    public var readBackCheck: String?
    /// Resident set before the weights were written, and the process's peak right after (Linux).
    public var residentBytesBeforeWrite: Int?
    public var peakResidentBytesAfterWrite: Int?
    public var training: TrainingSummary

    /// Fraction of non-zero deltas lost to rounding: `round(W + ΔW) == round(W)` (docs/formats.md, Export).
    public var lostFraction: Double { changedEntries == 0 ? 0 : Double(lostEntries) / Double(changedEntries) }
}

/// `llama-sft export`: a run, checkpoint or adapter → a merged Hugging Face model directory or a PEFT
/// adapter directory (docs/formats.md, Export).
public enum Exporter {
    /// Resolves the source and the base, writes the export into a temporary folder beside `options.output`,
    /// checks it, and renames it into place. On any error nothing is installed and the temporary folder is
    /// removed. `log` receives progress lines.
    public static func export(_ options: ExportOptions, log: (String) -> Void = { _ in }) throws -> ExportReport {
        let source = try ExportSource.resolve(options.source, log: log)
        let baseDirectory = try source.baseModelDirectory(explicit: options.baseModel, log: log)
        let config = try LlamaConfig.load(path: baseDirectory)
        let (adapters, metadata) = try PEFTAdapter.load(directory: source.adapterDirectory, model: config)
        for (name, variable) in adapters.namedParameters where variable.value.buffer.contains(where: { !$0.isFinite }) {
            throw ExportError.nonFiniteAdapter(tensor: name)
        }
        log("adapter: \(source.adapterDirectory) (\(source.kind.rawValue)); r \(adapters.config.rank), alpha \(adapters.config.alpha), "
            + "scale \(adapters.config.scale), targets \(adapters.config.targets.map(\.rawValue).joined(separator: ","))")
        log("base model: \(baseDirectory)")

        let inputs = [source.adapterDirectory, baseDirectory] + (source.runDirectory.map { [$0] } ?? [])
        let output = try OutputDirectory.prepare(options.output, force: options.force, inputs: inputs)
        let kind: ExportReport.Kind = options.format == .gguf ? (options.adapterOnly ? .ggufAdapter : .ggufModel)
            : (options.adapterOnly ? .adapter : .merged)
        var report = ExportReport(kind: kind, output: output.finalPath, source: source,
                                  baseModel: baseDirectory, lora: adapters.config, files: [],
                                  training: TrainingSummary.read(source: source))
        do {
            let title = (output.finalPath as NSString).lastPathComponent
            if options.format == .gguf && options.adapterOnly {
                try GGUFExport.writeAdapter(adapters, config: config, title: title, into: output.temporaryPath, check: options.check,
                                            report: &report, log: log)
            } else if options.format == .gguf {
                let format = try ChatFormat.resolve(source: source, override: options.chatTemplate, log: log)
                try GGUFExport.writeMerged(type: options.ggufType, config: config, adapters: adapters, baseDirectory: baseDirectory,
                                           format: format, title: title, into: output.temporaryPath, check: options.check,
                                           report: &report, log: log)
            } else if options.adapterOnly {
                try writeAdapter(adapters, baseName: peftBaseName(baseDirectory, recorded: metadata.baseModelNameOrPath, log: log), config: config,
                                 into: output.temporaryPath, check: options.check, report: &report, log: log)
            } else {
                try writeMerged(options, source: source, config: config, adapters: adapters, baseDirectory: baseDirectory,
                                into: output.temporaryPath, report: &report, log: log)
            }
            try ModelDirectoryFiles.write(ModelCard.text(card(report, baseName: metadata.baseModelNameOrPath)),
                                          to: join(output.temporaryPath, "README.md"))
            report.files = ((try? FileManager.default.contentsOfDirectory(atPath: output.temporaryPath)) ?? []).sorted()
            try output.install()
        } catch {
            output.discard()
            throw error
        }
        log("wrote \(output.finalPath)")
        return report
    }

    // MARK: merged

    private static func writeMerged(_ options: ExportOptions, source: ExportSource, config: LlamaConfig, adapters: LoRAAdapters,
                                    baseDirectory: String, into directory: String, report: inout ExportReport,
                                    log: (String) -> Void) throws {
        // A GGUF base is dequantized row block by row block (q/k rows back in Hugging Face order); a
        // safetensors base is read with pread and copied byte for byte where nothing changes.
        let plan: MergedTensorPlan, rows: LoRAMerge.BaseRows
        var ggufBase: (file: GGUFFile, vocabulary: GGUFVocabulary)?
        if case .gguf(let path) = ModelSource(path: baseDirectory) {
            let file = try GGUFFile(path: path)
            plan = try MergedTensorPlan(config: config, gguf: file, adapters: adapters, dtype: options.dtype)
            let base = try GGUFMergeBase.open(path, config: config, plan: GGUFModelPlan.tensors(config, adapters: adapters, type: .f32))
            rows = .dequantized(base.readRows, headDim: config.headDim)
            ggufBase = (file, base.vocabulary)
        } else {
            let files = try SafeTensorsCollection(directory: baseDirectory)
            plan = try MergedTensorPlan(config: config, files: files, adapters: adapters, dtype: options.dtype)
            rows = .safetensors(RawTensorReader(files: files))
        }
        for (name, reason) in plan.dropped { log("not written: \(name) (\(reason))") }
        for name in plan.extras { log("copied although not part of the Llama layout: \(name)") }
        report.droppedTensors = plan.dropped.map(\.name)
        report.tensorCount = plan.tensors.count
        report.weightBytes = plan.tensors.reduce(0) { $0 + $1.byteCount }
        var dtypeCounts: [DType: Int] = [:]
        for t in plan.tensors { dtypeCounts[t.target, default: 0] += 1 }
        report.dtypes = dtypeCounts.sorted { $0.value > $1.value }.map(\.key.rawValue)

        // Progress (large models only): one line per ~10% of the tensors, as each is produced.
        let stats = MergeStatistics()
        report.residentBytesBeforeWrite = ProcessMemory.residentBytes
        log(String(format: "writing %d tensors (%.2f GB) to %@", plan.tensors.count, Double(report.weightBytes) / 1e9, directory))
        let written: [String] = try withoutActuallyEscaping(log) { log in
            var done = 0
            let step = report.weightBytes > 250_000_000 ? max(1, plan.tensors.count / 10) : Int.max
            let tensors = plan.tensors.map { planned in
                let produce = LoRAMerge.tensorToWrite(planned, base: rows, adapters: adapters, stats: stats)
                return TensorToWrite(name: produce.name, dtype: produce.dtype, shape: produce.shape) { out in
                    // The previous tensor's buffer has been freed by now; make sure it leaves the resident set.
                    ProcessMemory.releaseFreedMemory()
                    try produce.write(out)
                    done += 1
                    if done % step == 0 { log("  \(done)/\(plan.tensors.count) tensors") }
                }
            }
            return try ShardedWriter.write(tensors, to: directory, maxShardBytes: options.maxShardBytes)
        }
        report.peakResidentBytesAfterWrite = ProcessMemory.peakResidentBytes
        report.shardCount = written.filter { $0.hasSuffix(".safetensors") }.count
        report.mergedTensorCount = stats.mergedTensors
        report.changedEntries = stats.changedEntries
        report.lostEntries = stats.lostEntries
        log(String(format: "merged %d projections; %d of %d non-zero weight updates lost to rounding (%.4f%%)",
                   stats.mergedTensors, stats.lostEntries, stats.changedEntries, report.lostFraction * 100))

        let dtypeName = FloatCoding.configName(plan.tensors[0].target) ?? "float32"
        if let (file, vocabulary) = ggufBase {
            let stated = source.recipeCandidates.contains { FileManager.default.fileExists(atPath: $0) } || options.chatTemplate != nil
            let format = stated ? try ChatFormat.resolve(source: source, override: options.chatTemplate, log: log) : nil
            try GGUFBaseModelFiles.write(gguf: file, config: config, vocabulary: vocabulary, format: format, dtypeName: dtypeName,
                                         into: directory, log: log)
        } else {
            try writeModelFiles(baseDirectory: baseDirectory, config: config, dtypeName: dtypeName, into: directory, log: log)
        }

        guard options.check else { return }
        let least = plan.tensors.filter { $0.merge != nil || $0.stored != $0.target }.map(\.target)
            .max { precisionRank($0) < precisionRank($1) } ?? plan.tensors[0].target
        log("checking: reloading \(directory) and comparing logits with base + adapter")
        let check = try MergeCheck.run(baseDirectory: baseDirectory, mergedDirectory: directory, adapters: adapters,
                                       writtenDType: least, weightsChanged: stats.changedEntries > stats.lostEntries)
        report.check = check
        log("check: " + check.summary)
        for w in check.warnings { log("warning: " + w) }
        if let failure = check.failure { throw ExportError.checkFailed(output: directory, reason: failure + " (" + check.summary + ")") }
    }

    /// config.json, generation_config.json and the tokenizer files of a Hugging Face base.
    private static func writeModelFiles(baseDirectory: String, config: LlamaConfig, dtypeName: String, into directory: String,
                                        log: (String) -> Void) throws {
        // config.json: the base's bytes with the dtype key set to the embedding's output dtype.
        let configPath = join(baseDirectory, "config.json")
        guard let baseConfig = try ModelDirectoryFiles.readText(configPath) else {
            throw ExportError.badJSON(path: configPath, reason: "cannot read the base config")
        }
        try ModelDirectoryFiles.write(try ModelDirectoryFiles.config(baseText: baseConfig, dtypeName: dtypeName, path: configPath),
                                      to: join(directory, "config.json"))
        let generationPath = join(baseDirectory, "generation_config.json")
        let llama3 = ModelDirectoryFiles.isLlama3Tokenizer(config: config, baseDirectory: baseDirectory)
        try ModelDirectoryFiles.write(
            try ModelDirectoryFiles.generationConfig(baseText: try ModelDirectoryFiles.readText(generationPath), config: config,
                                                     llama3Tokenizer: llama3, path: generationPath),
            to: join(directory, "generation_config.json"))
        let copied = try ModelDirectoryFiles.copyTokenizerFiles(from: baseDirectory, to: directory)
        if copied.isEmpty { log("note: the base has no tokenizer files; copy them into the output before using it") }
    }

    /// Higher = coarser rounding.
    private static func precisionRank(_ d: DType) -> Int {
        switch d {
        case .bf16: return 2
        case .f16: return 1
        default: return 0
        }
    }

    // MARK: adapter

    private static func writeAdapter(_ adapters: LoRAAdapters, baseName: String, config: LlamaConfig, into directory: String,
                                     check: Bool, report: inout ExportReport, log: (String) -> Void) throws {
        try PEFTAdapter.save(adapters, baseModel: baseName, to: directory)
        let parameters = adapters.namedParameters
        report.tensorCount = parameters.count
        report.weightBytes = parameters.reduce(0) { $0 + $1.variable.value.count * 4 }
        report.shardCount = 1
        report.dtypes = ["F32"]
        guard check else { return }
        // Round trip (docs/formats.md, Export): names, shapes, config and every bit must come back.
        let (reloaded, _) = try PEFTAdapter.load(directory: directory, model: config)
        guard reloaded.config == adapters.config, reloaded.config.scale == adapters.config.scale else {
            throw ExportError.checkFailed(output: directory, reason: "adapter_config.json reads back as \(reloaded.config), not \(adapters.config)")
        }
        let again = reloaded.namedParameters
        guard again.map(\.name) == parameters.map(\.name) else {
            throw ExportError.checkFailed(output: directory, reason: "the adapter's tensor names changed on the round trip")
        }
        for (a, b) in zip(parameters, again) {
            guard a.variable.value.shape == b.variable.value.shape,
                  a.variable.value.buffer.elementsEqual(b.variable.value.buffer, by: { $0.bitPattern == $1.bitPattern }) else {
                throw ExportError.checkFailed(output: directory, reason: "tensor \(a.name) differs after the round trip")
            }
        }
        report.adapterRoundTrip = "\(again.count) tensors and the config read back identical (scale \(reloaded.config.scale))"
        log("check: " + report.adapterRoundTrip!)
    }

    /// `base_model_name_or_path` of a PEFT adapter export. For a GGUF base: the Hugging Face repository the
    /// file says it was converted from (`general.source.huggingface.repository`, or a huggingface.co
    /// `general.source.url`), which PEFT can load; else the GGUF's path, which only our own tools read.
    static func peftBaseName(_ baseDirectory: String, recorded: String?, log: (String) -> Void) -> String {
        guard case .gguf(let path) = ModelSource(path: baseDirectory) else { return recorded ?? baseDirectory }
        let file = try? GGUFFile(path: path)
        if let repository = file?["general.source.huggingface.repository"]?.stringValue, !repository.isEmpty { return repository }
        if let url = file?["general.source.url"]?.stringValue, let range = url.range(of: "huggingface.co/") {
            let parts = url[range.upperBound...].split(separator: "/").prefix(2)
            if parts.count == 2 { return parts.joined(separator: "/") }
        }
        log("note: the GGUF base names no Hugging Face repository; adapter_config.json names \(path), which PEFT cannot load "
            + "(export without --adapter-only for a merged Hugging Face model)")
        return path
    }

    // MARK: card

    private static func card(_ r: ExportReport, baseName: String?) -> ModelCard.Facts {
        var weights: String?
        if r.kind == .ggufModel {
            weights = "\(r.dtypes.joined(separator: "/")), \(String(format: "%.2f GB", Double(r.weightBytes) / 1e9)), \(GGUFExport.modelFileName)"
        }
        if r.kind == .merged {
            let size = String(format: "%.2f GB", Double(r.weightBytes) / 1e9)
            weights = "\(r.dtypes.joined(separator: "/")), \(size), \(r.shardCount == 1 ? "model.safetensors" : "\(r.shardCount) shards")"
            if r.changedEntries > 0 {
                weights! += String(format: "; %.4f%% of the non-zero weight updates were lost to rounding", r.lostFraction * 100)
            }
        }
        return ModelCard.Facts(
            title: (r.output as NSString).lastPathComponent, kind: r.kind,
            baseModel: baseName.map { $0 == r.baseModel ? $0 : "\($0) (local copy: \(r.baseModel))" } ?? r.baseModel,
            adapterSource: r.source.adapterDirectory, sourceKind: r.source.kind, lora: r.lora, weightsDescription: weights,
            training: r.training, checkDescription: r.check?.summary ?? r.adapterRoundTrip ?? r.readBackCheck)
    }
}
