import ChatData
import Foundation

extension Recipe {
    /// Keys that may change between a run and its resumption: they do not alter the math of the
    /// steps already taken (checkpointing, evaluation, length of the run, threads, output place).
    public static let resumableKeys: Set<String> = [
        "checkpoint.every_steps", "checkpoint.keep_last", "eval.every_steps", "eval.max_batches",
        "train.max_steps", "train.epochs", "train.threads", "data.eval", "output_dir",
    ]

    /// The resolved recipe as dotted key → canonical JSON text of the value.
    public var flattened: [String: String] {
        var out: [String: String] = [:]
        func walk(_ prefix: String, _ value: Any) {
            if let dict = value as? [String: Any] {
                for (k, v) in dict { walk(prefix.isEmpty ? k : "\(prefix).\(k)", v) }
            } else {
                let data = (try? JSONSerialization.data(withJSONObject: [value], options: [.sortedKeys])) ?? Data()
                out[prefix] = String(decoding: data, as: UTF8.self)
            }
        }
        walk("", json)
        return out
    }

    /// Dotted keys whose values differ from `old` and would change the math of a resumed run.
    public func mathChanges(since old: Recipe) -> [String] {
        let a = flattened, b = old.flattened
        return Set(a.keys).union(b.keys).filter { a[$0] != b[$0] && !Self.resumableKeys.contains($0) }.sorted()
    }

    /// FNV-1a 64 of the math-relevant keys and values (a fingerprint, not a security hash).
    public var mathFingerprint: String {
        var hasher = FNV1a64()
        for (k, v) in flattened.sorted(by: { $0.key < $1.key }) where !Self.resumableKeys.contains(k) {
            hasher.add(bytes: (k + "=" + v + "\n").utf8)
        }
        return hasher.hex
    }
}
