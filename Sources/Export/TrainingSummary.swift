import Foundation
import RunLayout

/// What a run's files say about the training behind an adapter, for the model card.
public struct TrainingSummary: Sendable, Equatable {
    public struct Point: Sendable, Equatable {
        public var step: Int
        public var value: Double

        public init(step: Int, value: Double) {
            self.step = step
            self.value = value
        }
    }

    /// The optimizer step the adapter was saved at, when known.
    public var step: Int?
    /// The last training loss logged up to that step.
    public var trainLoss: Point?
    /// The last evaluation loss logged up to that step.
    public var evalLoss: Point?

    public init(step: Int? = nil, trainLoss: Point? = nil, evalLoss: Point? = nil) {
        self.step = step
        self.trainLoss = trainLoss
        self.evalLoss = evalLoss
    }

    public var isEmpty: Bool { step == nil && trainLoss == nil && evalLoss == nil }

    /// Reads `trainer_state.json` in the adapter directory (a checkpoint) and `metrics.jsonl` in the run
    /// directory. A checkpoint's step comes from its trainer state (`global_step` or `step`) or its folder
    /// name (`step-000100`); metrics logged after that step are ignored. Unreadable lines (a run killed
    /// mid-write) are skipped: the summary is informative, never a reason to fail an export.
    public static func read(source: ExportSource) -> TrainingSummary {
        var summary = TrainingSummary()
        if source.kind == .checkpoint {
            if let data = FileManager.default.contents(atPath: join(source.adapterDirectory, RunLayout.trainerStateFile)),
               let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] {
                summary.step = ((json["global_step"] ?? json["step"]) as? NSNumber)?.intValue
            }
            if summary.step == nil {
                summary.step = RunLayout.step(ofCheckpointName: (source.adapterDirectory as NSString).lastPathComponent)
            }
        }
        guard let run = source.runDirectory,
              let data = FileManager.default.contents(atPath: join(run, RunLayout.metricsFile)) else { return summary }
        let limit = summary.step ?? Int.max
        var lastStep: Int?
        for (record, _) in MetricsRecord.lines(of: data) where record.step <= limit {
            let step = record.step
            lastStep = max(lastStep ?? step, step)
            if let loss = record.loss, step >= (summary.trainLoss?.step ?? Int.min) {
                summary.trainLoss = Point(step: step, value: loss)
            }
            if let loss = record.evalLoss, step >= (summary.evalLoss?.step ?? Int.min) {
                summary.evalLoss = Point(step: step, value: loss)
            }
        }
        if summary.step == nil { summary.step = lastStep }
        return summary
    }
}
