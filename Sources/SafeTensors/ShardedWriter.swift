import Foundation

/// Writes a model's tensors as Hugging Face does (docs/formats.md, safetensors; huggingface_hub
/// `split_state_dict_into_shards_factory`): one `model.safetensors` when everything fits in one shard,
/// otherwise `model-0000k-of-0000n.safetensors` shards plus `model.safetensors.index.json`.
///
/// The directory should be new or empty: stale shards or an old index from an earlier export are not removed.
public enum ShardedWriter {
    /// huggingface_hub `MAX_SHARD_SIZE` (decimal 5 GB).
    public static let defaultMaxShardBytes = 5_000_000_000

    /// Writes `tensors` (walked in the given order) into `directory`, creating it if needed.
    /// Each shard is written atomically; the index is written last, so it never names a missing shard.
    /// Returns the paths written: the shards in order, then the index if there is one.
    @discardableResult
    public static func write(_ tensors: [TensorToWrite], to directory: String,
                             maxShardBytes: Int = defaultMaxShardBytes,
                             metadata: [String: String] = ["format": "pt"]) throws -> [String] {
        let indexPath = (directory as NSString).appendingPathComponent("model.safetensors.index.json")
        guard maxShardBytes > 0 else {
            throw SafeTensorsError.invalidMaxShardSize(directory: directory, maxShardBytes: maxShardBytes)
        }
        // Validate everything up front so no shard is written for an export that cannot finish.
        var seen = Set<String>()
        var sizes: [Int] = []
        var total = 0
        for t in tensors {
            let size = try byteCount(of: t, path: directory)
            guard seen.insert(t.name).inserted else { throw SafeTensorsError.duplicateTensorName(path: directory, tensor: t.name) }
            let (sum, overflow) = total.addingReportingOverflow(size)
            if overflow { throw SafeTensorsError.invalidTensorToWrite(path: directory, tensor: t.name, reason: "total size overflows") }
            sizes.append(size)
            total = sum
        }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw SafeTensorsError.writeFailed(path: directory, reason: "cannot create the directory: \(error.localizedDescription)")
        }

        let shards = planShards(byteCounts: sizes, maxShardBytes: maxShardBytes)
        if shards.count <= 1 {
            let path = (directory as NSString).appendingPathComponent("model.safetensors")
            try SafeTensorsWriter.write(tensors, metadata: metadata, to: path)
            return [path]
        }

        var written: [String] = []
        var weightMap: [(String, String)] = []
        for (k, members) in shards.enumerated() {
            let name = shardFileName(k + 1, of: shards.count)
            let path = (directory as NSString).appendingPathComponent(name)
            try SafeTensorsWriter.write(members.map { tensors[$0] }, metadata: metadata, to: path)
            written.append(path)
            weightMap += members.map { (tensors[$0].name, name) }
        }
        try AtomicFile.write(Data(indexJSON(totalSize: total, weightMap: weightMap).utf8), to: indexPath)
        written.append(indexPath)
        return written
    }

    /// `model-00001-of-00004.safetensors` (1-based `k`).
    public static func shardFileName(_ k: Int, of n: Int) -> String {
        "model-\(pad5(k))-of-\(pad5(n)).safetensors"
    }

    /// Assigns tensors (by index, in order) to shards exactly as huggingface_hub does: a tensor larger than
    /// the limit gets a shard of its own, appended immediately (so it comes *before* the shard still being
    /// filled); otherwise a new shard starts when the current size plus the tensor would exceed the limit.
    public static func planShards(byteCounts: [Int], maxShardBytes: Int) -> [[Int]] {
        var shards: [[Int]] = []
        var current: [Int] = []
        var currentSize = 0
        for (i, size) in byteCounts.enumerated() {
            if size > maxShardBytes {
                shards.append([i])
                continue
            }
            let (sum, overflow) = currentSize.addingReportingOverflow(size)
            if overflow || sum > maxShardBytes {
                shards.append(current)
                current = []
                currentSize = 0
            }
            current.append(i)
            currentSize += size
        }
        if !current.isEmpty { shards.append(current) }
        return shards
    }

    /// The index as transformers writes it: `json.dumps(index, indent=2, sort_keys=True) + "\n"`.
    static func indexJSON(totalSize: Int, weightMap: [(String, String)]) -> String {
        let sorted = weightMap.sorted { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }
        var s = "{\n  \"metadata\": {\n    \"total_size\": \(totalSize)\n  },\n  \"weight_map\": {\n"
        s += sorted.map { "    " + JSONText.pythonString($0.0) + ": " + JSONText.pythonString($0.1) }.joined(separator: ",\n")
        s += "\n  }\n}\n"
        return s
    }

    private static func pad5(_ v: Int) -> String {
        let s = String(v)
        return s.count >= 5 ? s : String(repeating: "0", count: 5 - s.count) + s
    }
}
