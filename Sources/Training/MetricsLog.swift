import Foundation
import RunLayout
import SafeTensors

/// `metrics.jsonl`: one JSON object per optimizer step (and per evaluation), appended as training goes.
public final class MetricsLog {
    public let path: String
    private(set) public var records: [[String: Any]] = []

    /// Opens the log; on resume, keeps only the lines of steps ≤ `keepThrough` (later lines belong to
    /// steps that will be redone), so the file reads as one uninterrupted run.
    public init(path: String, keepThrough: Int?) throws {
        self.path = path
        if let keepThrough, let data = FileManager.default.contents(atPath: path) {
            records = MetricsRecord.lines(of: data).filter { $0.record.step <= keepThrough }.map(\.object)
        }
        try rewrite()
    }

    public func append(_ record: [String: Any]) throws {
        records.append(record)
        let line = try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys]) + Data("\n".utf8)
        guard let handle = FileHandle(forWritingAtPath: path) else { throw CheckpointError("\(path): cannot open the metrics log for writing") }
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: line)
    }

    /// Replaces the file atomically: a kill while a resumed run trims the log must not lose the lines
    /// of the steps it keeps.
    private func rewrite() throws {
        var data = Data()
        for r in records { data += try JSONSerialization.data(withJSONObject: r, options: [.sortedKeys]) + Data("\n".utf8) }
        do { try AtomicFile.write(data, to: path) } catch {
            throw CheckpointError("\(path): cannot write the metrics log (\(error.localizedDescription)); is the output directory writable?")
        }
    }

    /// Training losses and evaluation losses by step, for the loss curve.
    public var curves: (train: [(Int, Double)], eval: [(Int, Double)]) {
        var train: [(Int, Double)] = [], eval: [(Int, Double)] = []
        for r in records.compactMap(MetricsRecord.init) {
            if let l = r.loss { train.append((r.step, l)) }
            if let l = r.evalLoss { eval.append((r.step, l)) }
        }
        return (train, eval)
    }
}
