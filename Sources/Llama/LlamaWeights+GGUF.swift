import GGUF
import Tensors

extension LlamaWeights {
    /// The base weights of a GGUF file, kept in their file type.
    ///
    /// Matrices stay in the mapping and are dequantized per use (`FrozenWeight` `.encoded`, rows decoded
    /// exactly as ggml does); with `cacheFloat32` they are dequantized once at load instead. q and k rows
    /// are read through the inverse of llama.cpp's RoPE permutation (`GGUFRoPEPermutation.toHF`), so the
    /// model sees Hugging Face layout. Names map through `GGUFTensorNames`.
    public static func load(gguf file: GGUFFile, config c: LlamaConfig, cacheFloat32: Bool = false) throws -> LlamaWeights {
        func tensor(_ hfName: String, _ shape: [Int]) throws -> GGUFTensorInfo {
            let name = GGUFTensorNames.ggufName(forHF: hfName)!
            guard let t = file.tensor(named: name) else { throw LlamaError.missingTensor(file: file.path, name: name) }
            guard t.shape == shape else { throw LlamaError.wrongShape(file: file.path, name: name, expected: shape, found: t.shape) }
            guard t.type.isDequantizable else {
                throw GGUFError.unsupportedTensorType(path: file.path, tensor: name, type: t.type)
            }
            return t
        }
        func matrix(_ hfName: String, _ shape: [Int], cache: Bool = cacheFloat32) throws -> FrozenWeight {
            let t = try tensor(hfName, shape)
            let heads = GGUFTensorNames.permutedHeads(hfName: hfName, heads: c.numHeads, kvHeads: c.numKVHeads)
            let w = frozen(file, t, rowSources: heads.map { GGUFRoPEPermutation.toHF(rows: t.rows, heads: $0) })
            return cache ? w.widened() : w
        }
        func vector(_ hfName: String) throws -> Tensor {
            let t = try tensor(hfName, [c.hiddenSize])
            let out = Tensor(uninitialized: [c.hiddenSize])
            try file.dequantize(t, into: out.data)
            return out
        }
        // The embedding is only read row by row (and as the tied LM head), so it is never cached here.
        let embedding = try matrix("model.embed_tokens.weight", [c.vocabSize, c.hiddenSize], cache: false)
        return try assemble(config: c, embedding: embedding, matrix: { try matrix($0, $1) }, vector: vector, gguf: file)
    }

    /// A GGUF matrix as a frozen weight. `rowSources[r]` is the file row holding logical row r (nil: the same row).
    static func frozen(_ file: GGUFFile, _ t: GGUFTensorInfo, rowSources: [Int]?) -> FrozenWeight {
        let base = file.bytes(of: t).baseAddress!
        let type = t.type, columns = t.columns, rowBytes = t.type.rowBytes(columns: columns)!
        if rowSources == nil, type == .bf16 || type == .f16, Int(bitPattern: base) % 2 == 0 {
            let p = base.assumingMemoryBound(to: UInt16.self)
            return FrozenWeight(rows: t.rows, columns: columns, storage: type == .bf16 ? .bfloat16(p) : .float16(p), owner: file)
        }
        let rows = EncodedRows { first, count, dst in
            if let rowSources {
                for r in 0..<count {
                    GGMLDequantizer.dequantize(type, from: base + rowSources[first + r] * rowBytes, to: dst + r * columns, count: columns)
                }
            } else {
                GGMLDequantizer.dequantize(type, from: base + first * rowBytes, to: dst, count: count * columns)
            }
        }
        // The closure holds the mapping's address; `owner` keeps the file (and its mapping) alive.
        return FrozenWeight(rows: t.rows, columns: columns, storage: .encoded(rows), owner: file)
    }
}

extension LlamaWeights {
    /// The bytes a GGUF base keeps in memory when it stays encoded (every tensor as stored in the file);
    /// nil for a Hugging Face directory.
    public static func encodedBytes(path: String) throws -> Int? {
        guard case .gguf(let file) = ModelSource(path: path) else { return nil }
        return try GGUFFile(path: file).tensors.reduce(0) { $0 + $1.byteCount }
    }
}
