import Foundation

/// Terminal progress: a live bar on a TTY, periodic plain lines otherwise.
final class Progress {
    let total: Int
    let bar: Bool
    let log: (String) -> Void
    let started = Date()
    var firstStep: Int?

    init(total: Int, bar: Bool, log: @escaping (String) -> Void) {
        self.total = total
        self.bar = bar
        self.log = log
    }

    func update(step: Int, loss: Double, lr: Double, tokensPerSecond: Double, evalLoss: Double?) {
        if firstStep == nil { firstStep = step - 1 }
        let done = step - (firstStep ?? 0)
        let elapsed = Date().timeIntervalSince(started)
        let eta = done > 0 ? elapsed / Double(done) * Double(total - step) : 0
        let stats = String(format: "loss %.4f  lr %.2e  %.0f tok/s  ETA %@", loss, lr, tokensPerSecond, Self.clock(eta))
            + (evalLoss.map { String(format: "  eval %.4f", $0) } ?? "")
        if bar {
            let width = 24, filled = total > 0 ? width * step / total : width
            let line = "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] \(step)/\(total)  " + stats
            FileHandle.standardOutput.write(Data(("\r\u{1B}[K" + line).utf8))
            if evalLoss != nil { FileHandle.standardOutput.write(Data("\n".utf8)) }
        } else {
            let every = max(1, total / 20)
            if step % every == 0 || step == total || step == 1 || evalLoss != nil { log("step \(step)/\(total)  " + stats) }
        }
    }

    func finish() { if bar { FileHandle.standardOutput.write(Data("\n".utf8)) } }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
