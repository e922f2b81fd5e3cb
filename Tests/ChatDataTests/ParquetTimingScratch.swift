import Foundation
import XCTest
@testable import ChatData

final class ParquetTimingScratch: XCTestCase {
    func testTiming() throws {
        guard let base = ProcessInfo.processInfo.environment["PARQUET_SPEED"] else { throw XCTSkip() }
        for round in 0..<3 {
            for name in [base + ".jsonl", base + ".parquet", base + "-rg1000.parquet"] {
                let t = Date()
                let file = try DatasetReader.read(path: name, onInvalid: .skip)
                print("round \(round) \(name): \(file.records.count) records in \(String(format: "%.2f", Date().timeIntervalSince(t))) s, rss \(rssMiB()) MiB")
            }
        }
    }

    func rssMiB() -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM") {
            return Int(line.split(separator: " ").dropFirst().first.map(String.init) ?? "0").map { $0 / 1024 } ?? 0
        }
        return 0
    }
}
