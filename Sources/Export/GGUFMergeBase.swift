import GGUF
import Llama
import SafeTensors

/// The base a merged GGUF export reads: fp32 rows of each weight in Hugging Face names and row order, and
/// the vocabulary. Either a Hugging Face model directory (safetensors + tokenizer.json) or a GGUF file,
/// whose weights are dequantized row block by row block (q/k rows returned from llama.cpp's order, so the
/// merge sees the layout the adapter was trained on) and whose vocabulary is carried over as it is.
struct GGUFMergeBase {
    /// Reads rows `[start, start + count)` of a base tensor (Hugging Face name and layout) as fp32. For q
    /// and k, `start` and `count` are whole heads.
    typealias RowReader = (_ name: String, _ start: Int, _ count: Int, _ into: UnsafeMutablePointer<Float>) throws -> Void

    let readRows: RowReader
    let vocabulary: GGUFVocabulary
    /// `tokenizer.ggml.*` keys of a GGUF base that the export does not write itself (kept unchanged).
    let extraTokenizerMetadata: [(key: String, value: GGUFValue)]

    static func open(_ path: String, config c: LlamaConfig, plan: [GGUFPlannedTensor]) throws -> GGUFMergeBase {
        if case .gguf(let file) = ModelSource(path: path) { return try gguf(GGUFFile(path: file), config: c, plan: plan) }
        return try huggingFace(path, config: c, plan: plan)
    }

    private static func huggingFace(_ directory: String, config c: LlamaConfig, plan: [GGUFPlannedTensor]) throws -> GGUFMergeBase {
        let files = try SafeTensorsCollection(directory: directory)
        var sourceTypes: [String: (dtype: DType, columns: Int)] = [:]
        for t in plan {
            guard let name = t.source else { continue }
            guard let info = try files.info(name) else {
                throw LlamaError.missingTensor(file: files.indexPath ?? files.directory, name: name)
            }
            guard info.shape == t.shape else {
                throw LlamaError.wrongShape(file: try files.file(for: name).path, name: name, expected: t.shape, found: info.shape)
            }
            guard FloatCoding.isFloat(info.dtype) else {
                throw ExportError.unsupportedTensor(file: try files.file(for: name).path, tensor: name, reason: "dtype \(info.dtype.rawValue) cannot be merged")
            }
            sourceTypes[name] = (info.dtype, t.columns)
        }
        let raw = RawTensorReader(files: files)
        let readRows: RowReader = { name, start, count, into in
            guard let (dtype, columns) = sourceTypes[name] else { preconditionFailure("\(name) is not in the plan") }
            let bytes = dtype.bitSize / 8
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(1, count * columns * bytes), alignment: 64)
            defer { buffer.deallocate() }
            try raw.read(name, byteOffset: start * columns * bytes, count: count * columns * bytes, into: buffer)
            FloatCoding.widen(buffer, dtype, into: into, count: count * columns)
        }
        return GGUFMergeBase(readRows: readRows, vocabulary: try GGUFExport.vocabularyFor(baseDirectory: directory, config: c),
                             extraTokenizerMetadata: [])
    }

    private static func gguf(_ file: GGUFFile, config c: LlamaConfig, plan: [GGUFPlannedTensor]) throws -> GGUFMergeBase {
        var infos: [String: (info: GGUFTensorInfo, rowBytes: Int, heads: Int?)] = [:]
        for t in plan {
            guard let name = t.source else { continue }
            guard let info = file.tensor(named: t.name) else { throw LlamaError.missingTensor(file: file.path, name: t.name) }
            guard info.dimensions == t.dimensions else {
                throw LlamaError.wrongShape(file: file.path, name: t.name, expected: t.dimensions, found: info.dimensions)
            }
            guard info.type.isDequantizable, let rowBytes = info.type.rowBytes(columns: info.columns) else {
                throw ExportError.unsupportedTensor(file: file.path, tensor: t.name, reason: "type \(info.type) cannot be dequantized")
            }
            infos[name] = (info, rowBytes, t.permutedHeads)
        }
        let readRows: RowReader = { name, start, count, into in
            guard let (info, rowBytes, heads) = infos[name], let base = file.bytes(of: info).baseAddress else {
                preconditionFailure("\(name) is not in the plan")
            }
            let columns = info.columns
            guard heads != nil else {
                GGMLDequantizer.dequantize(info.type, from: base + start * rowBytes, to: into, count: count * columns)
                return
            }
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: count * columns)
            defer { scratch.deallocate() }
            GGMLDequantizer.dequantize(info.type, from: base + start * rowBytes, to: scratch, count: count * columns)
            GGUFRoPEPermutation.apply(GGUFRoPEPermutation.toHF(rows: count, heads: count / c.headDim), rowBytes: columns * 4,
                                      from: scratch, to: into)
        }
        let written: Set<String> = ["tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.tokens", "tokenizer.ggml.token_type",
                                    "tokenizer.ggml.merges", "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
                                    "tokenizer.ggml.eot_token_id", "tokenizer.ggml.add_bos_token", "tokenizer.ggml.add_eos_token"]
        let extra = file.metadata.filter { $0.key.hasPrefix("tokenizer.ggml.") && !written.contains($0.key) }
        return GGUFMergeBase(readRows: readRows, vocabulary: try GGUFVocabulary.load(gguf: file), extraTokenizerMetadata: extra)
    }
}
