import ChatData
import Foundation
import Llama
import SafeTensors
import Tensors

/// What a checkpoint records about the data and base model beyond their paths, so a resume onto other
/// content (the same file name with new lines, base weights instead of instruct) is refused.
struct RunFingerprints {
    let data: String
    let model: String

    init(data examples: [Example], model: LlamaWeights, configPath: String) throws {
        data = RunFingerprints.fingerprint(examples)
        self.model = try RunFingerprints.fingerprint(model: model, configPath: configPath)
    }

    /// FNV-1a 64 over the prepared training examples (every id and trained flag, in order): identifies
    /// the data a checkpoint was trained on, beyond the file name the recipe gives.
    static func fingerprint(_ examples: [Example]) -> String {
        var hasher = FNV1a64()
        for e in examples {
            hasher.add(word: UInt64(e.ids.count))
            for (id, t) in zip(e.ids, e.trained) { hasher.add(word: UInt64(truncatingIfNeeded: id) << 1 | UInt64(t & 1)) }
        }
        return hasher.hex
    }

    /// FNV-1a over config.json (a GGUF file: its header), every tensor's name, dtype and shape, and the
    /// first 256 bytes of each tensor's data: cheap (a page per tensor), and it tells a base checkpoint
    /// from an instruct one of the same architecture.
    static func fingerprint(model: LlamaWeights, configPath: String) throws -> String {
        var hasher = FNV1a64()
        func mix<S: Sequence>(_ bytes: S) where S.Element == UInt8 { hasher.add(bytes: bytes) }
        var isDir: ObjCBool = false
        let config = FileManager.default.fileExists(atPath: configPath, isDirectory: &isDir) && isDir.boolValue
            ? (configPath as NSString).appendingPathComponent("config.json") : configPath
        if let gguf = model.gguf {
            // A GGUF file holds its config in its header (metadata and tensor entries); never read the whole file.
            mix(gguf.headerBytes)
            for t in gguf.tensors { mix(UnsafeRawBufferPointer(rebasing: gguf.bytes(of: t).prefix(256))) }
            return hasher.hex
        }
        mix(FileManager.default.contents(atPath: config) ?? Data())
        if let files = model.source {
            for name in files.names.sorted() {
                guard let info = try files.info(name) else { continue }
                mix("\(name) \(info.dtype.rawValue) \(info.shape)".utf8)
                let raw = try files.rawBytes(name)
                mix(UnsafeRawBufferPointer(rebasing: raw.prefix(256)))
            }
        }
        return hasher.hex
    }
}
