import Foundation
import GGUF
import Llama
import SafeTensors
import Tensors
import Tokenizer

/// `export --format gguf`: a merged model as one GGUF file plus an Ollama `Modelfile`, or a llama.cpp LoRA
/// adapter GGUF (`--adapter-only`). Layouts follow llama.cpp's converters (`convert_hf_to_gguf.py`,
/// `convert_lora_to_gguf.py`) and loader (`src/llama-adapter.cpp`); see docs/gguf.md.
enum GGUFExport {
    static let modelFileName = "model.gguf"
    static let adapterFileName = "adapter.gguf"

    // MARK: merged model

    /// Writes `model.gguf` and `Modelfile` into `directory`.
    static func writeMerged(type: GGUFOutputType, config c: LlamaConfig, adapters: LoRAAdapters, baseDirectory: String,
                            format: ChatFormat, title: String, into directory: String, check: Bool, report: inout ExportReport,
                            log: (String) -> Void) throws {
        let plan = GGUFModelPlan.tensors(c, adapters: adapters, type: type)
        for t in plan where t.type != type.ggmlType && t.shape.count == 2 {
            log("note: \(t.name) is written as \(t.type.name): its rows of \(t.columns) are not whole \(type.ggmlType.name) blocks")
        }
        let base = try GGUFMergeBase.open(baseDirectory, config: c, plan: plan)
        let readRows = base.readRows, vocabulary = base.vocabulary
        let metadata = try modelMetadata(config: c, type: type, vocabulary: vocabulary, format: format, title: title, log: log)
            + base.extraTokenizerMetadata
        let stats = MergeStatistics()
        let tensors = plan.map { t in
            GGUFTensorToWrite(name: t.name, type: t.type, dimensions: t.dimensions) { out in
                try produce(t, config: c, adapters: adapters, readRows: readRows, stats: stats, into: out)
            }
        }
        let path = join(directory, modelFileName)
        report.residentBytesBeforeWrite = ProcessMemory.residentBytes
        log("writing \(plan.count) tensors (\(type.rawValue)) to \(path)")
        try GGUFWriter.write(metadata: metadata, tensors: tensors, to: path)
        report.peakResidentBytesAfterWrite = ProcessMemory.peakResidentBytes
        if check {
            try checkStructure(path: path, plan: plan, metadataCount: metadata.count, directory: directory, report: &report, log: log)
            // The file as llama.cpp will run it: loaded by our own GGUF model loader, its logits must match
            // base + adapter within the output type's rounding (MergeCheck.tolerance).
            log("checking: loading \(path) and comparing logits with base + adapter")
            let result = try MergeCheck.run(baseDirectory: baseDirectory, mergedGGUF: path, adapters: adapters, type: type,
                                            weightsChanged: stats.changedEntries > 0)
            report.check = result
            log("check: " + result.summary)
            for w in result.warnings { log("warning: " + w) }
            if let failure = result.failure { throw ExportError.checkFailed(output: directory, reason: failure + " (" + result.summary + ")") }
        }
        report.tensorCount = plan.count
        report.weightBytes = tensors.reduce(0) { $0 + ($1.byteCount ?? 0) }
        report.mergedTensorCount = stats.mergedTensors
        report.changedEntries = stats.changedEntries
        report.shardCount = 1
        report.dtypes = Array(Set(plan.map(\.type.name))).sorted()
        if c.tieWordEmbeddings { report.droppedTensors = ["output.weight (tied: llama.cpp uses token_embd.weight)"] }

        let stops = stopTokens(format: format, config: c, vocabulary: vocabulary)
        try ModelDirectoryFiles.write(try Modelfile.text(ggufFileName: modelFileName, format: format, stops: stops),
                                      to: join(directory, "Modelfile"))
        log("Modelfile: template \(format.template.rawValue), stop \(stops.joined(separator: " "))")
    }

    /// Reopens the written file with the strict reader: every tensor of the plan with its type and
    /// dimensions, the metadata count, and the chat template key.
    private static func checkStructure(path: String, plan: [GGUFPlannedTensor], metadataCount: Int, directory: String,
                                       report: inout ExportReport, log: (String) -> Void) throws {
        let file = try GGUFFile(path: path)
        let expected = plan.map { "\($0.name) \($0.type) \($0.dimensions)" }
        let found = file.tensors.map { "\($0.name) \($0.type) \($0.dimensions)" }
        guard expected == found, file.metadata.count == metadataCount, file["tokenizer.chat_template"] != nil else {
            throw ExportError.checkFailed(output: directory, reason: "\(path) reads back with other tensors or metadata than were written")
        }
        report.readBackCheck = "reopened by the GGUF reader: \(found.count) tensors and \(metadataCount) metadata keys as written"
        log("check: " + report.readBackCheck!)
    }

    /// Widens, merges, permutes and encodes one tensor, in blocks of whole heads of about 1 MB of fp32.
    private static func produce(_ t: GGUFPlannedTensor, config c: LlamaConfig, adapters: LoRAAdapters, readRows: GGUFMergeBase.RowReader,
                                stats: MergeStatistics, into out: UnsafeMutableRawBufferPointer) throws {
        guard let base = out.baseAddress else { return }
        guard let source = t.source else {
            let factors = GGUFModelPlan.ropeFreqs(c)
            factors.withUnsafeBufferPointer { _ = GGUFEncoding.encode($0.baseAddress!, rows: 1, columns: factors.count, as: .f32, into: base) }
            return
        }
        let rows = t.rows, columns = t.columns
        let unit = t.permutedHeads == nil ? 1 : c.headDim
        let blockRows = max(unit, min(rows, (1 << 18) / max(columns, 1)) / unit * unit)
        let w = UnsafeMutablePointer<Float>.allocate(capacity: blockRows * columns)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: blockRows * columns)
        defer { w.deallocate(); scratch.deallocate() }
        let pair = t.merge.flatMap { adapters.pairs[$0.layer][$0.projection] }
        let rank = adapters.config.rank, scale = adapters.config.scale
        guard let rowBytes = t.type.rowBytes(columns: columns) else { return }
        var overflowed = 0, changed = 0
        var start = 0
        while start < rows {
            let n = min(blockRows, rows - start), m = n * columns
            try readRows(source, start, n, w)
            if let pair {
                // ΔW rows [start, start+n) = B[start..<start+n, :] · A      ([n, r] · [r, in] → [n, in])
                sgemm(transA: false, transB: false, m: n, n: columns, k: rank, pair.b.value.data + start * rank, lda: rank,
                      pair.a.value.data, ldb: columns, scratch, ldc: columns)
                for i in 0..<m where scratch[i] != 0 {
                    w[i] += scratch[i] * scale
                    changed += 1
                }
            }
            var rowsOut = UnsafePointer(w)
            if t.permutedHeads != nil {
                // The block holds whole heads, so permuting it alone is permuting the tensor.
                GGUFRoPEPermutation.apply(GGUFRoPEPermutation.toGGUF(rows: n, heads: n / c.headDim), rowBytes: columns * 4,
                                          from: w, to: scratch)
                rowsOut = UnsafePointer(scratch)
            }
            overflowed += GGUFEncoding.encode(rowsOut, rows: n, columns: columns, as: t.type, into: base + start * rowBytes)
            start += n
        }
        if pair != nil { stats.mergedTensors += 1 }
        stats.changedEntries += changed
        if overflowed > 0 { throw ExportError.overflow(tensor: t.name, dtype: t.type.name, count: overflowed) }
    }

    // MARK: metadata

    static func vocabularyFor(baseDirectory: String, config c: LlamaConfig) throws -> GGUFVocabulary {
        let path = join(baseDirectory, "tokenizer.json")
        guard FileManager.default.fileExists(atPath: path) else {
            throw ExportError.notAModelDirectory(path: baseDirectory, origin: "GGUF export: the base needs a tokenizer.json, whose vocabulary and merges the GGUF carries")
        }
        let tokenizer = try Tokenizer.load(path: path)
        return try GGUFVocabulary.load(tokenizerJSON: path, vocabularySize: c.vocabSize, preTokenizer: tokenizer.preTokenizer)
    }

    /// The llama architecture keys (`convert_hf_to_gguf.py` `LlamaModel.set_gguf_parameters`).
    static func architectureMetadata(_ c: LlamaConfig, log: (String) -> Void) -> [(key: String, value: GGUFValue)] {
        let context = c.maxPositionEmbeddings ?? 2048
        if c.maxPositionEmbeddings == nil { log("note: config.json has no max_position_embeddings; llama.context_length = 2048") }
        return [
            ("llama.block_count", .uint32(UInt32(c.numLayers))),
            ("llama.context_length", .uint32(UInt32(context))),
            ("llama.embedding_length", .uint32(UInt32(c.hiddenSize))),
            ("llama.feed_forward_length", .uint32(UInt32(c.intermediateSize))),
            ("llama.attention.head_count", .uint32(UInt32(c.numHeads))),
            ("llama.attention.head_count_kv", .uint32(UInt32(c.numKVHeads))),
            ("llama.rope.freq_base", .float32(Float(c.ropeTheta))),
            ("llama.attention.layer_norm_rms_epsilon", .float32(c.rmsNormEps)),
            ("llama.attention.key_length", .uint32(UInt32(c.headDim))),
            ("llama.attention.value_length", .uint32(UInt32(c.headDim))),
            ("llama.vocab_size", .uint32(UInt32(c.vocabSize))),
            ("llama.rope.dimension_count", .uint32(UInt32(c.headDim))),
        ]
    }

    static func modelMetadata(config c: LlamaConfig, type: GGUFOutputType, vocabulary v: GGUFVocabulary, format: ChatFormat,
                              title: String, log: (String) -> Void) throws -> [(key: String, value: GGUFValue)] {
        guard let endOfTurn = v.id(of: format.endOfTurnToken) else {
            throw ExportError.unsupportedTensor(file: "tokenizer.json", tensor: format.endOfTurnToken,
                                                reason: "the \(format.template.rawValue) template's end-of-turn token is not in the vocabulary; pass --template to name the template the model was trained with")
        }
        var m: [(key: String, value: GGUFValue)] = [
            ("general.architecture", .string("llama")),
            ("general.type", .string("model")),
            ("general.name", .string(title)),
            ("general.file_type", .uint32(type.fileType)),
            ("general.quantization_version", .uint32(2)),
        ]
        m += architectureMetadata(c, log: log)
        m += v.metadata
        if let bos = c.bosTokenID ?? v.id(of: "<|begin_of_text|>") { m.append(("tokenizer.ggml.bos_token_id", .uint32(UInt32(bos)))) }
        // The fine-tuned model ends every answer with the template's end-of-turn token: it is the EOS
        // llama.cpp stops at (as in Llama 3 Instruct's own tokenizer_config.json) and the end-of-turn id.
        m.append(("tokenizer.ggml.eos_token_id", .uint32(UInt32(endOfTurn))))
        m.append(("tokenizer.ggml.eot_token_id", .uint32(UInt32(endOfTurn))))
        m.append(("tokenizer.ggml.add_bos_token", .bool(format.template.usesBOS)))
        m.append(("tokenizer.ggml.add_eos_token", .bool(false)))
        m.append(("tokenizer.chat_template", .string(format.jinja)))
        return m
    }

    /// `PARAMETER stop` strings: the end-of-turn token, the base's EOS tokens, and the token that opens a
    /// turn — those the vocabulary has, each once.
    static func stopTokens(format: ChatFormat, config c: LlamaConfig, vocabulary v: GGUFVocabulary) -> [String] {
        var stops = [format.endOfTurnToken]
        for id in c.eosTokenIDs where v.tokens.indices.contains(id) && v.types[id] == GGUFVocabulary.TokenType.control { stops.append(v.tokens[id]) }
        stops.append(format.turnStartToken)
        var seen = Set<String>()
        return stops.filter { v.id(of: $0) != nil && seen.insert($0).inserted }
    }

    // MARK: adapter

    /// Writes `adapter.gguf`: per adapted projection `<name>.lora_a` (ne `[in, r]`) and `<name>.lora_b`
    /// (ne `[r, out]`, q/k rows in llama.cpp's order), F32; `adapter.lora.alpha` = scale · r, so that
    /// llama.cpp's `alpha / r` gives the training scale (rsLoRA included).
    static func writeAdapter(_ adapters: LoRAAdapters, config c: LlamaConfig, title: String, into directory: String, check: Bool,
                             report: inout ExportReport, log: (String) -> Void) throws {
        let r = adapters.config.rank
        var metadata: [(key: String, value: GGUFValue)] = [
            ("general.architecture", .string("llama")),
            ("general.type", .string("adapter")),
            ("general.name", .string(title)),
            ("adapter.type", .string("lora")),
            ("adapter.lora.alpha", .float32(adapters.config.scale * Float(r))),
        ]
        metadata += architectureMetadata(c, log: log)
        var tensors: [GGUFTensorToWrite] = []
        for layer in adapters.pairs.indices {
            for p in Projection.allCases {
                guard let pair = adapters.pairs[layer][p] else { continue }
                let name = GGUFModelPlan.ggufName(p.path(layer: layer) + ".weight")
                let shape = p.shape(c)   // [out, in]
                let a = pair.a.value, b = pair.b.value
                tensors.append(GGUFTensorToWrite(name: name + ".lora_a", type: .f32, dimensions: [shape[1], r]) { out in
                    out.copyMemory(from: UnsafeRawBufferPointer(start: a.data, count: a.count * 4))
                })
                // B's rows are the projection's output rows: q and k take llama.cpp's RoPE row order; A
                // (the input side) is unchanged (torchtune permutes lora_B only, and so does
                // convert_lora_to_gguf.py through LlamaModel.permute on the LoRA tensor).
                let heads = GGUFTensorNames.permutedHeads(hfName: p.path(layer: layer) + ".weight", heads: c.numHeads, kvHeads: c.numKVHeads)
                tensors.append(GGUFTensorToWrite(name: name + ".lora_b", type: .f32, dimensions: [r, shape[0]]) { out in
                    let sources = heads.map { GGUFRoPEPermutation.toGGUF(rows: shape[0], heads: $0) } ?? Array(0..<shape[0])
                    GGUFRoPEPermutation.apply(sources, rowBytes: r * 4, from: b.data, to: out.baseAddress!)
                })
            }
        }
        let path = join(directory, adapterFileName)
        try GGUFWriter.write(metadata: metadata, tensors: tensors, to: path)
        report.tensorCount = tensors.count
        report.weightBytes = tensors.reduce(0) { $0 + ($1.byteCount ?? 0) }
        report.shardCount = 1
        report.dtypes = ["F32"]
        log("wrote \(path): \(tensors.count) tensors, adapter.lora.alpha \(adapters.config.scale * Float(r)) (scale \(adapters.config.scale), r \(r))")
        guard check else { return }

        // Round trip: read the file back (q/k rows returned to Hugging Face order); every bit and the scale
        // must come back.
        let again = try GGUFAdapterReader.load(path: path, model: c)
        guard again.config.scale == adapters.config.scale, again.config.rank == r else {
            throw ExportError.checkFailed(output: directory, reason: "the adapter reads back with r \(again.config.rank), scale \(again.config.scale)")
        }
        for (layer, row) in adapters.pairs.enumerated() {
            for (p, pair) in row {
                guard let back = again.pairs[layer][p],
                      pair.a.value.buffer.elementsEqual(back.a.value.buffer, by: { $0.bitPattern == $1.bitPattern }),
                      pair.b.value.buffer.elementsEqual(back.b.value.buffer, by: { $0.bitPattern == $1.bitPattern }) else {
                    throw ExportError.checkFailed(output: directory, reason: "layer \(layer) \(p.rawValue) differs after the round trip")
                }
            }
        }
        report.adapterRoundTrip = "\(tensors.count) tensors read back identical (q/k rows restored), scale \(again.config.scale)"
        log("check: " + report.adapterRoundTrip!)
    }
}
