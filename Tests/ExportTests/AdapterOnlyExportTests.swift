import Export
import Foundation
import Llama
import SafeTensors
import XCTest

/// `--adapter-only`: a PEFT directory that reads back identical.
final class AdapterOnlyExportTests: XCTestCase {
    func testAdapterRoundTripsThroughPEFTLoader() throws {
        for name in exportFixtureNames {
            let f = try ExportFixture(name)
            let out = try scratchDirectory(self) + "/adapter-out"
            let report = try Exporter.export(ExportOptions(source: f.adapter, output: out, adapterOnly: true, baseModel: f.dir))
            XCTAssertEqual(report.kind, .adapter)
            XCTAssertNotNil(report.adapterRoundTrip)

            let config = try f.config
            let (original, _) = try PEFTAdapter.load(directory: f.adapter, model: config)
            let (exported, meta) = try PEFTAdapter.load(directory: out, model: config)
            XCTAssertEqual(exported.config, original.config, "\(name): LoRA config")
            XCTAssertEqual(exported.config.scale, original.config.scale)
            // The golden adapter's base_model_name_or_path is null, so the base directory used is recorded.
            XCTAssertEqual(meta.baseModelNameOrPath, f.dir)

            // Same names, shapes and bits as the golden file itself (F32, PEFT names).
            let golden = try f.file("adapter/adapter_model.safetensors")
            let written = try SafeTensorsFile(path: out + "/adapter_model.safetensors")
            XCTAssertEqual(Set(written.names), Set(golden.names), "\(name): tensor names")
            XCTAssertEqual(written.metadata, ["format": "pt"])
            for info in golden.infos {
                let mine = try XCTUnwrap(written.info(info.name))
                XCTAssertEqual(mine.dtype, .f32)
                XCTAssertEqual(mine.shape, info.shape, "\(name) \(info.name)")
                XCTAssertEqual(Array(try written.rawBytes(info.name)), Array(try golden.rawBytes(info.name)), "\(name) \(info.name) bytes")
            }

            let json = try readJSONObject(out + "/adapter_config.json")
            let source = try readJSONObject(f.adapter + "/adapter_config.json")
            XCTAssertEqual(json["peft_type"] as? String, "LORA")
            XCTAssertEqual(json["r"] as? Int, source["r"] as? Int)
            XCTAssertEqual((json["lora_alpha"] as? NSNumber)?.doubleValue, (source["lora_alpha"] as? NSNumber)?.doubleValue)
            XCTAssertEqual(Set(json["target_modules"] as? [String] ?? []), Set(source["target_modules"] as? [String] ?? ["?"]))
            XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/README.md"))
        }
    }

    func testRsLoRAFlagSurvivesTheRoundTrip() throws {
        let f = try ExportFixture("tiny-llama32")
        let out = try scratchDirectory(self) + "/adapter-out"
        _ = try Exporter.export(ExportOptions(source: f.dir + "/adapter-rslora", output: out, adapterOnly: true, baseModel: f.dir))
        let (exported, _) = try PEFTAdapter.load(directory: out, model: try f.config)
        let source = try readJSONObject(f.dir + "/adapter-rslora/adapter_config.json")
        let r = Double(source["r"] as! Int), alpha = (source["lora_alpha"] as! NSNumber).doubleValue
        XCTAssertTrue(exported.config.rslora)
        XCTAssertEqual(exported.config.scale, Float(alpha / r.squareRoot()), "rsLoRA scale = alpha / sqrt(r)")
    }
}
