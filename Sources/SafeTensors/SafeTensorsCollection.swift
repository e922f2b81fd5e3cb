import Foundation
import StrictJSON

/// A model's weights in a Hugging Face model directory: either one `model.safetensors`, or shards listed
/// by `model.safetensors.index.json` (`weight_map`: tensor name → shard file name).
///
/// Like transformers, a directory holding `model.safetensors` uses it even if an index is also present.
/// Shards are opened (mapped and validated) on first use of one of their tensors and then kept open.
/// Every shard named by the index must exist when the collection is created.
public final class SafeTensorsCollection: @unchecked Sendable {
    /// The model directory.
    public let directory: String
    /// The index file, if the weights are sharded.
    public let indexPath: String?

    private let shardOfTensor: [String: String]  // empty for a single file
    private let orderedNames: [String]
    private let lock = NSLock()
    private var openFiles: [String: SafeTensorsFile] = [:]  // shard file name → file; guarded by `lock`
    private let single: SafeTensorsFile?

    /// Opens `directory/model.safetensors`, or else parses `directory/model.safetensors.index.json`.
    public init(directory: String) throws {
        self.directory = directory
        let fm = FileManager.default
        let singlePath = (directory as NSString).appendingPathComponent("model.safetensors")
        let indexPath = (directory as NSString).appendingPathComponent("model.safetensors.index.json")
        if fm.fileExists(atPath: singlePath) {
            let file = try SafeTensorsFile(path: singlePath)
            single = file
            self.indexPath = nil
            shardOfTensor = [:]
            orderedNames = file.names
            return
        }
        guard fm.fileExists(atPath: indexPath) else { throw SafeTensorsError.noWeights(directory: directory) }
        single = nil
        self.indexPath = indexPath
        shardOfTensor = try readWeightMap(indexPath: indexPath)
        orderedNames = shardOfTensor.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }

        // Report a missing shard now, naming it, rather than in the middle of loading layer 17.
        var checked = Set<String>()
        for name in orderedNames {
            let shard = shardOfTensor[name]!
            guard checked.insert(shard).inserted else { continue }
            let shardPath = (directory as NSString).appendingPathComponent(shard)
            if !fm.fileExists(atPath: shardPath) {
                throw SafeTensorsError.missingShard(indexPath: indexPath, shard: shard, tensor: name)
            }
        }
    }

    /// Tensor names: file order for a single file, sorted (by UTF-8 bytes) for a sharded model.
    public var names: [String] {
        orderedNames
    }

    /// Whether the collection has a tensor called `name` (without opening any shard).
    public func contains(_ name: String) -> Bool {
        if let single { return single.info(name) != nil }
        return shardOfTensor[name] != nil
    }

    /// The entry for `name` (opening its shard if needed), or `nil` if no shard lists it.
    public func info(_ name: String) throws -> TensorInfo? {
        guard contains(name) else { return nil }
        return try file(for: name).info(name)
    }

    /// The file holding `name`, opened on first use.
    public func file(for name: String) throws -> SafeTensorsFile {
        if let single {
            guard single.info(name) != nil else {
                throw SafeTensorsError.tensorNotFound(path: single.path, tensor: name)
            }
            return single
        }
        let indexPath = self.indexPath!
        guard let shard = shardOfTensor[name] else {
            throw SafeTensorsError.tensorNotFound(path: indexPath, tensor: name)
        }
        let file = try openShard(shard)
        guard file.info(name) != nil else {
            throw SafeTensorsError.tensorNotInShard(indexPath: indexPath, shard: shard, tensor: name)
        }
        return file
    }

    /// See ``SafeTensorsFile/rawBytes(_:)``.
    public func rawBytes(_ name: String) throws -> UnsafeRawBufferPointer {
        try file(for: name).rawBytes(name)
    }

    /// See ``SafeTensorsFile/readFloat32(_:into:count:)``.
    public func readFloat32(_ name: String, into dst: UnsafeMutablePointer<Float>, count: Int) throws {
        try file(for: name).readFloat32(name, into: dst, count: count)
    }

    /// See ``SafeTensorsFile/float32Array(_:)``.
    public func float32Array(_ name: String) throws -> [Float] {
        try file(for: name).float32Array(name)
    }

    private func openShard(_ shard: String) throws -> SafeTensorsFile {
        lock.lock()
        defer { lock.unlock() }
        if let file = openFiles[shard] { return file }
        let file = try SafeTensorsFile(path: (directory as NSString).appendingPathComponent(shard))
        openFiles[shard] = file
        return file
    }
}

/// Reads `weight_map` from a shard index. Only `weight_map` matters to readers (REFERENCE §7); shard names
/// must be plain file names in the same folder.
private func readWeightMap(indexPath: String) throws -> [String: String] {
    guard let data = FileManager.default.contents(atPath: indexPath) else {
        throw SafeTensorsError.cannotOpen(path: indexPath, reason: "cannot read the file")
    }
    let json: JSONValue
    do {
        json = try JSONParser.parse([UInt8](data))
    } catch let error as JSONParseError {
        switch error {
        case .invalidUTF8: throw SafeTensorsError.invalidIndex(path: indexPath, reason: "not valid UTF-8")
        case let .duplicateKey(key, _): throw SafeTensorsError.invalidIndex(path: indexPath, reason: "duplicate key '\(key)'")
        case let .syntax(offset, reason):
            throw SafeTensorsError.invalidIndex(path: indexPath, reason: "invalid JSON at byte \(offset): \(reason)")
        }
    }
    guard case let .object(top) = json else {
        throw SafeTensorsError.invalidIndex(path: indexPath, reason: "top level is \(json.kindName), not an object")
    }
    guard let mapValue = top.first(where: { $0.key == "weight_map" })?.value else {
        throw SafeTensorsError.invalidIndex(path: indexPath, reason: "missing 'weight_map'")
    }
    guard case let .object(pairs) = mapValue else {
        throw SafeTensorsError.invalidIndex(path: indexPath, reason: "'weight_map' is \(mapValue.kindName), not an object")
    }
    var map: [String: String] = [:]
    for (tensor, value) in pairs {
        guard case let .string(shard) = value else {
            throw SafeTensorsError.invalidIndex(
                path: indexPath, reason: "weight_map['\(tensor)'] is \(value.kindName), not a file name")
        }
        guard !shard.isEmpty, shard != ".", shard != "..", !shard.contains("/") else {
            throw SafeTensorsError.invalidIndex(
                path: indexPath, reason: "weight_map['\(tensor)'] = '\(shard)' is not a file name in the index's folder")
        }
        map[tensor] = shard
    }
    return map
}
