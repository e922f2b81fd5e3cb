import Export
import Foundation
import Llama
import SafeTensors
import Tensors
import XCTest

/// Exports of the BF16 base (golden `model-bf16/`) and dtype conversions.
final class DTypeExportTests: XCTestCase {
    /// bf16 RNE of `W + s·(B·A)`, computed here independently: W widened from the bf16 base, the delta in
    /// Double (the exporter uses fp32 GEMM, so a value within a hair of a bf16 rounding midpoint may round
    /// the other way — allowed for at most a handful of elements, by one ulp).
    private func expectedMergedBF16(_ base: [Float], a: [Float], b: [Float], rank: Int, rows: Int, columns: Int, scale: Double) -> [UInt16] {
        var out = [UInt16](repeating: 0, count: rows * columns)
        for i in 0..<rows {
            for j in 0..<columns {
                var d = 0.0
                for k in 0..<rank { d += Double(b[i * rank + k]) * Double(a[k * columns + j]) }
                out[i * columns + j] = floatToBF16(Float(Double(base[i * columns + j]) + scale * d))
            }
        }
        return out
    }

    func testBF16ExportOfBF16BaseKeepsUntouchedTensorsByteIdentical() throws {
        for name in exportFixtureNames {
            let f = try ExportFixture(name)
            let out = try scratchDirectory(self) + "/merged"
            let report = try Exporter.export(ExportOptions(source: f.adapter, output: out, baseModel: f.dir + "/model-bf16"))
            let base = try f.file("model-bf16/model.safetensors")
            let written = try SafeTensorsFile(path: out + "/model.safetensors")
            XCTAssertEqual(Set(written.names), Set(base.names), name)

            let config = try f.config
            let (adapters, _) = try PEFTAdapter.load(directory: f.adapter, model: config)
            var ulpOff = 0, exactLost = 0, changed = 0
            for info in base.infos {
                let mine = try XCTUnwrap(written.info(info.name))
                XCTAssertEqual(mine.dtype, .bf16, "\(name) \(info.name): auto keeps BF16")
                let isProjection = info.name.hasSuffix("_proj.weight")
                if !isProjection {
                    XCTAssertEqual(Array(try written.rawBytes(info.name)), Array(try base.rawBytes(info.name)), "\(name) \(info.name) must be copied bit-exact")
                    continue
                }
                // model.layers.L.{self_attn|mlp}.X_proj.weight
                let parts = info.name.split(separator: ".")
                let layer = Int(parts[2])!, projection = Projection(rawValue: String(parts[4]))!
                let pair = try XCTUnwrap(adapters.pairs[layer][projection])
                let baseValues = try base.float32Array(info.name)
                let expected = expectedMergedBF16(baseValues, a: pair.a.value.array, b: pair.b.value.array, rank: adapters.config.rank,
                                                  rows: info.shape[0], columns: info.shape[1], scale: Double(adapters.config.scale))
                let got = try written.rawBytes(info.name).withMemoryRebound(to: UInt16.self) { Array($0) }
                for i in expected.indices {
                    if got[i] != expected[i] {
                        ulpOff += 1
                        XCTAssertLessThanOrEqual(abs(Int(got[i]) - Int(expected[i])), 1, "\(name) \(info.name)[\(i)]")
                    }
                    changed += 1
                    if expected[i] == floatToBF16(baseValues[i]) { exactLost += 1 }
                }
            }
            XCTAssertLessThanOrEqual(ulpOff, 5, "\(name): elements one bf16 ulp away from the independent reference")
            XCTAssertEqual(report.changedEntries, changed, "\(name): every delta of this adapter is non-zero")
            XCTAssertLessThanOrEqual(abs(report.lostEntries - exactLost), ulpOff, "\(name): rounding-loss count")
            XCTAssertGreaterThan(report.lostEntries, 0, "\(name): bf16 loses some of the 0.02-scale updates")
            XCTAssertTrue(report.check?.passed ?? false)
            let configJSON = try readJSONObject(out + "/config.json")
            XCTAssertEqual(configJSON["dtype"] as? String, "bfloat16")
        }
    }

    func testExplicitF32OfBF16BaseWidensExactly() throws {
        let f = try ExportFixture("tiny-llama3")
        let out = try scratchDirectory(self) + "/merged"
        _ = try Exporter.export(ExportOptions(source: f.adapter, output: out, dtype: .f32, baseModel: f.dir + "/model-bf16"))
        let base = try f.file("model-bf16/model.safetensors")
        let written = try SafeTensorsFile(path: out + "/model.safetensors")
        for info in base.infos where !info.name.hasSuffix("_proj.weight") {
            XCTAssertEqual(written.info(info.name)?.dtype, .f32)
            XCTAssertEqual(try written.float32Array(info.name), try base.float32Array(info.name), "\(info.name): bf16 → f32 is exact")
        }
        XCTAssertEqual(try readJSONObject(out + "/config.json")["dtype"] as? String, "float32")
    }

    func testBF16ExportOfF32BaseRoundsEveryTensorOnce() throws {
        let f = try ExportFixture("tiny-llama32")
        let out = try scratchDirectory(self) + "/merged"
        let report = try Exporter.export(ExportOptions(source: f.adapter, output: out, dtype: .bf16, baseModel: f.dir))
        let written = try SafeTensorsFile(path: out + "/model.safetensors")
        // Untouched tensors are the golden bf16 model's values (torch .to(bfloat16) = RNE).
        let goldenBF16 = try f.file("model-bf16/model.safetensors")
        for info in goldenBF16.infos where !info.name.hasSuffix("_proj.weight") {
            XCTAssertEqual(Array(try written.rawBytes(info.name)), Array(try goldenBF16.rawBytes(info.name)), info.name)
        }
        // Merged tensors: bf16 of the golden fp32 merged weights (both round W + ΔW once), up to midpoint ties.
        let goldenMerged = try f.file("merged/model.safetensors")
        for info in goldenMerged.infos where info.name.hasSuffix("_proj.weight") {
            let expected = try goldenMerged.float32Array(info.name).map(floatToBF16)
            let got = try written.rawBytes(info.name).withMemoryRebound(to: UInt16.self) { Array($0) }
            let off = zip(got, expected).filter { $0 != $1 }
            XCTAssertLessThanOrEqual(off.count, 2, info.name)
            for (g, e) in off { XCTAssertLessThanOrEqual(abs(Int(g) - Int(e)), 1, info.name) }
        }
        XCTAssertEqual(report.dtypes, ["BF16"])
        XCTAssertTrue(report.check?.passed ?? false)
        XCTAssertEqual(try readJSONObject(out + "/config.json")["dtype"] as? String, "bfloat16")
    }

    func testF16ExportPassesItsCheck() throws {
        let f = try ExportFixture("tiny-llama3")
        let out = try scratchDirectory(self) + "/merged"
        let report = try Exporter.export(ExportOptions(source: f.adapter, output: out, dtype: .f16, baseModel: f.dir))
        XCTAssertEqual(try SafeTensorsFile(path: out + "/model.safetensors").info("model.norm.weight")?.dtype, .f16)
        XCTAssertEqual(try readJSONObject(out + "/config.json")["dtype"] as? String, "float16")
        let check = try XCTUnwrap(report.check)
        XCTAssertTrue(check.passed)
        XCTAssertGreaterThan(check.maxAbsDifference, 0, "f16 rounding must show")
    }
}
