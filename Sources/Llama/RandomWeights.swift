import Autodiff
import Foundation
import GGUF
import SafeTensors
import Seeds
import Tensors

/// Randomly initialised base weights: for `llama-sft init-model` (the embedded tiny base model) and
/// `llama-sft bench` (named shapes without downloading anything).
///
/// Init (deterministic in `seed`): Linear weights N(0, 1)/√in, the LM head half that, embeddings
/// N(0, 0.5²), RMSNorm weights 1. The values only need to keep activations well scaled.
extension LlamaWeights {
    public enum StorageType: String, Sendable {
        case f32 = "F32", bf16 = "BF16"
        /// ggml Q4_K blocks (random codes with fixed scales), dequantized per use like a GGUF base.
        case q4_K = "Q4_K"
    }

    /// `normal` (Box–Muller; what `init-model` uses) or `uniform` with the same standard deviation
    /// (U(±√3·std); ~10x faster, for benchmarks of multi-billion-parameter shapes).
    public enum Distribution: Sendable { case normal, uniform }

    public static func random(config c: LlamaConfig, seed: UInt64, storage: StorageType, distribution: Distribution = .normal) -> LlamaWeights {
        func fill(_ p: UnsafeMutablePointer<Float>, count: Int, std: Float, seed: UInt64) {
            switch distribution {
            case .normal: fillNormal(p, count: count, std: std, seed: seed)
            case .uniform:
                let a = std * Float(3).squareRoot()
                for i in 0..<count { p[i] = (counterUniform(seed: seed, index: i) * 2 - 1) * a }
            }
        }
        var stream: UInt64 = 0
        func matrix(_ rows: Int, _ cols: Int, std: Float) -> FrozenWeight {
            stream += 1
            let s = seed &* 0x9E37_79B9_7F4A_7C15 &+ stream
            switch storage {
            case .f32:
                let t = Tensor(uninitialized: [rows, cols])
                fill(t.data, count: t.count, std: std, seed: s)
                return FrozenWeight(t)
            case .bf16:
                let owner = HalfBuffer(count: rows * cols)
                let tmp = Tensor(uninitialized: [min(rows * cols, 1 << 20)])
                var done = 0
                while done < rows * cols {  // in chunks, so a large model never has an fp32 copy
                    let n = min(tmp.count, rows * cols - done)
                    fill(tmp.data, count: n, std: std, seed: s &+ UInt64(done) &* 0x1000_0000_01B3)
                    convertFloatToBF16(tmp.data, owner.pointer + done, count: n)
                    done += n
                }
                return FrozenWeight(rows: rows, columns: cols, storage: .bfloat16(owner.pointer), owner: owner)
            case .q4_K:
                return randomQ4K(rows: rows, columns: cols, std: std, seed: s)
            }
        }
        let d = c.hiddenSize
        let embedding = matrix(c.vocabSize, d, std: 0.5)
        var layers: [LayerWeights] = []
        for _ in 0..<c.numLayers {
            var p: [Projection: FrozenWeight] = [:]
            for proj in Projection.allCases {
                let shape = proj.shape(c)
                p[proj] = matrix(shape[0], shape[1], std: 1 / Float(shape[1]).squareRoot())
            }
            layers.append(LayerWeights(inputNorm: Tensor(shape: [d], repeating: 1), postAttentionNorm: Tensor(shape: [d], repeating: 1), projections: p))
        }
        let head = c.tieWordEmbeddings ? embedding : matrix(c.vocabSize, d, std: 0.5 / Float(d).squareRoot())
        return LlamaWeights(config: c, embedding: embedding, layers: layers, finalNorm: Tensor(shape: [d], repeating: 1), lmHead: head)
    }

    /// The weights as safetensors entries with HF names in state-dict order, in their storage dtype
    /// (no lm_head when tied).
    public func tensorsToWrite() -> [TensorToWrite] {
        func entry(_ name: String, _ w: FrozenWeight, shape: [Int]) -> TensorToWrite {
            switch w.storage {
            case .bfloat16(let p), .float16(let p):
                let dtype: DType = { if case .bfloat16 = w.storage { return .bf16 } else { return .f16 } }()
                return TensorToWrite(name: name, dtype: dtype, shape: shape) { buf in
                    buf.copyMemory(from: UnsafeRawBufferPointer(start: p, count: w.count * 2))
                }
            default:
                return TensorToWrite(name: name, dtype: .f32, shape: shape) { buf in
                    w.writeFloat32(to: buf.baseAddress!.assumingMemoryBound(to: Float.self))
                }
            }
        }
        func vector(_ name: String, _ t: Tensor, like w: FrozenWeight) -> TensorToWrite {
            if w.float32Pointer != nil { return entry(name, FrozenWeight(t), shape: [t.count]) }
            let owner = HalfBuffer(count: t.count)
            convertFloatToBF16(t.data, owner.pointer, count: t.count)
            return entry(name, FrozenWeight(rows: 1, columns: t.count, storage: .bfloat16(owner.pointer), owner: owner), shape: [t.count])
        }
        var out = [entry("model.embed_tokens.weight", embedding, shape: embedding.shape)]
        for (l, layer) in layers.enumerated() {
            out.append(vector("model.layers.\(l).input_layernorm.weight", layer.inputNorm, like: embedding))
            for p in Projection.allCases { out.append(entry(p.path(layer: l) + ".weight", layer[p], shape: layer[p].shape)) }
            out.append(vector("model.layers.\(l).post_attention_layernorm.weight", layer.postAttentionNorm, like: embedding))
        }
        out.append(vector("model.norm.weight", finalNorm, like: embedding))
        if !config.tieWordEmbeddings { out.append(entry("lm_head.weight", lmHead, shape: lmHead.shape)) }
        return out
    }
}

extension LlamaWeights {
    /// Random Q4_K blocks whose values have mean 0 and standard deviation ≈ `std`: every sub-block scale
    /// and min is 32, the 4-bit codes are uniform in 0...15 (std 4.61), `d = std / (32 · 4.61)` and
    /// `dmin = 7.5 · d` centre them. Rows that are not whole 256-element blocks get Q5_0 instead, as
    /// llama.cpp's quantizer falls back (codes uniform in 0...31, std 9.23, value d·(q − 16)). Only for
    /// benchmarks: the memory and decode cost of a real Q4_K_M base.
    static func randomQ4K(rows: Int, columns: Int, std: Float, seed: UInt64) -> FrozenWeight {
        let type = q4KType(columns: columns)
        guard let rowBytes = type.rowBytes(columns: columns) else {
            preconditionFailure("\(type.name) needs rows of whole \(type.blockSize)-element blocks; \(columns) columns")
        }
        let owner = ByteBuffer(count: rows * rowBytes)
        let blocks = rows * rowBytes / type.bytesPerBlock
        var index = 0
        /// `count` random bytes at `offset` of block `p`, 16 bits at a time.
        func randomBytes(_ p: UnsafeMutableRawPointer, offset: Int, count: Int) {
            for w in 0..<(count / 2) {
                let bits = UInt16(counterUniform(seed: seed, index: index) * 65536)
                index += 1
                p.storeBytes(of: bits, toByteOffset: offset + 2 * w, as: UInt16.self)
            }
        }
        for b in 0..<blocks {
            let p = UnsafeMutableRawPointer(owner.pointer + b * type.bytesPerBlock)
            if type == .q4_K {
                p.storeBytes(of: Float16(std / (32 * 4.61)).bitPattern.littleEndian, toByteOffset: 0, as: UInt16.self)
                p.storeBytes(of: Float16(7.5 * std / (32 * 4.61)).bitPattern.littleEndian, toByteOffset: 2, as: UInt16.self)
                // Scales and mins of sub-blocks 0–3 in the low 6 bits of bytes 0–7; the top 2 bits of those
                // bytes plus bytes 8–11 carry sub-blocks 4–7 (32 = 0b10_0000 → top bits 0b10, low nibble 0).
                for i in 0..<8 { p.storeBytes(of: UInt8(0xA0), toByteOffset: 4 + i, as: UInt8.self) }
                for i in 8..<12 { p.storeBytes(of: UInt8(0), toByteOffset: 4 + i, as: UInt8.self) }
                randomBytes(p, offset: 16, count: 128)
            } else {
                p.storeBytes(of: Float16(std / 9.23).bitPattern.littleEndian, toByteOffset: 0, as: UInt16.self)
                randomBytes(p, offset: 2, count: 20)
            }
        }
        let base = UnsafeRawPointer(owner.pointer)
        let decode = EncodedRows { first, count, dst in
            GGMLDequantizer.dequantize(type, from: base + first * rowBytes, to: dst, count: count * columns)
        }
        return FrozenWeight(rows: rows, columns: columns, storage: .encoded(decode), owner: owner)
    }
}

/// Owns a byte buffer (quantized weights made in memory).
final class ByteBuffer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<UInt8>
    init(count: Int) { pointer = .allocate(capacity: max(count, 1)) }
    deinit { pointer.deallocate() }
}

/// Owns a buffer of 16-bit values (bf16 weights made in memory).
final class HalfBuffer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<UInt16>
    init(count: Int) { pointer = .allocate(capacity: max(count, 1)) }
    deinit { pointer.deallocate() }
}

/// N(0, std²) samples by Box–Muller over a SplitMix64 stream (deterministic in `seed`).
func fillNormal(_ p: UnsafeMutablePointer<Float>, count: Int, std: Float, seed: UInt64) {
    var i = 0
    while i < count {
        let u1 = max(counterUniform(seed: seed, index: i), 1e-7)
        let u2 = counterUniform(seed: seed ^ 0xD1B5_4A32_D192_ED03, index: i)
        let r = (-2 * Foundation.log(u1)).squareRoot() * std
        p[i] = r * Foundation.cos(2 * Float.pi * u2)
        if i + 1 < count { p[i + 1] = r * Foundation.sin(2 * Float.pi * u2) }
        i += 2
    }
}

extension LlamaWeights {
    /// The type `random(storage: .q4_K)` gives a matrix: Q4_K, or Q5_0 when rows are not whole 256-blocks.
    static func q4KType(columns: Int) -> GGMLType {
        columns % GGMLType.q4_K.blockSize == 0 ? .q4_K : .q5_0
    }

    /// Bytes of a `random(storage: .q4_K)` base: every matrix encoded, the norms fp32.
    public static func randomQ4KBytes(config c: LlamaConfig) -> Int {
        func bytes(_ rows: Int, _ columns: Int) -> Int { rows * (q4KType(columns: columns).rowBytes(columns: columns) ?? 2 * columns) }
        var total = bytes(c.vocabSize, c.hiddenSize) * (c.tieWordEmbeddings ? 1 : 2) + (2 * c.numLayers + 1) * c.hiddenSize * 4
        for p in Projection.allCases {
            let shape = p.shape(c)
            total += c.numLayers * bytes(shape[0], shape[1])
        }
        return total
    }
}
