import Foundation
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
            for line in data.split(separator: UInt8(ascii: "\n")) {
                guard let obj = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any],
                      let step = (obj["step"] as? NSNumber)?.intValue, step <= keepThrough else { continue }
                records.append(obj)
            }
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
        for r in records {
            guard let step = (r["step"] as? NSNumber)?.intValue else { continue }
            if let l = (r["loss"] as? NSNumber)?.doubleValue { train.append((step, l)) }
            if let l = (r["eval_loss"] as? NSNumber)?.doubleValue { eval.append((step, l)) }
        }
        return (train, eval)
    }
}

/// A small self-contained SVG of the loss curves (train in blue, eval in orange).
public enum LossCurve {
    public static func svg(train: [(Int, Double)], eval: [(Int, Double)], title: String) -> String {
        let w = 640.0, h = 360.0, left = 56.0, right = 16.0, top = 32.0, bottom = 40.0
        let all = train + eval
        guard let maxStep = all.map(\.0).max(), let lo = all.map(\.1).min(), let hi = all.map(\.1).max() else {
            return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\"></svg>\n"
        }
        let span = max(hi - lo, 1e-6)
        func x(_ s: Int) -> Double { left + (w - left - right) * Double(s) / Double(max(maxStep, 1)) }
        func y(_ v: Double) -> Double { top + (h - top - bottom) * (1 - (v - lo) / span) }
        func path(_ pts: [(Int, Double)]) -> String {
            pts.enumerated().map { i, p in String(format: "%@%.1f,%.1f", i == 0 ? "M" : "L", x(p.0), y(p.1)) }.joined(separator: " ")
        }
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\" font-family=\"sans-serif\" font-size=\"12\">\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        s += "<text x=\"\(left)\" y=\"20\">\(escape(title))</text>\n"
        s += String(format: "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#888\"/>\n", left, h - bottom, w - right, h - bottom)
        s += String(format: "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#888\"/>\n", left, top, left, h - bottom)
        for k in 0...4 {
            let v = lo + span * Double(k) / 4
            s += String(format: "<text x=\"4\" y=\"%.1f\">%.3f</text>\n", y(v) + 4, v)
        }
        s += String(format: "<text x=\"%.0f\" y=\"%.0f\">step %d</text>\n", w - right - 60, h - 12, maxStep)
        if !train.isEmpty { s += "<path d=\"\(path(train))\" fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\"/>\n" }
        if !eval.isEmpty { s += "<path d=\"\(path(eval))\" fill=\"none\" stroke=\"#ff7f0e\" stroke-width=\"2\"/>\n" }
        s += "<text x=\"\(w - 150)\" y=\"20\" fill=\"#1f77b4\">train loss</text><text x=\"\(w - 70)\" y=\"20\" fill=\"#ff7f0e\">eval loss</text>\n"
        return s + "</svg>\n"
    }

    static func escape(_ t: String) -> String {
        t.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
