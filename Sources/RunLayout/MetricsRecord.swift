import Foundation

/// The fields of a `metrics.jsonl` line that anything reads back: the trainer (to trim the log on
/// resume and draw the loss curve) and export (for the model card). Lines are JSON objects with sorted
/// keys; a training line has `step`, `loss`, `lr`, `grad_norm`, …; an evaluation line has `step`,
/// `eval_loss`, ….
public struct MetricsRecord: Sendable, Equatable {
    public static let stepKey = "step", lossKey = "loss", evalLossKey = "eval_loss"

    public var step: Int
    public var loss: Double?
    public var evalLoss: Double?

    public init(step: Int, loss: Double? = nil, evalLoss: Double? = nil) {
        self.step = step; self.loss = loss; self.evalLoss = evalLoss
    }

    /// Reads the fields from a parsed line; nil when it has no integer `step`.
    public init?(_ object: [String: Any]) {
        guard let step = (object[Self.stepKey] as? NSNumber)?.intValue else { return nil }
        self.step = step
        loss = (object[Self.lossKey] as? NSNumber)?.doubleValue
        evalLoss = (object[Self.evalLossKey] as? NSNumber)?.doubleValue
    }

    /// Every parseable line of a `metrics.jsonl` file with its parsed object, in file order. Lines that
    /// do not parse (a run killed mid-write) are skipped.
    public static func lines(of data: Data) -> [(record: MetricsRecord, object: [String: Any])] {
        data.split(separator: UInt8(ascii: "\n")).compactMap { line in
            guard let object = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any],
                  let record = MetricsRecord(object) else { return nil }
            return (record, object)
        }
    }
}
