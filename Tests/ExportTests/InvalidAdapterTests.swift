import Export
import Foundation
import Llama
import XCTest

/// Adapters that would produce a broken merged model are refused with a clear error.
final class InvalidAdapterTests: XCTestCase {
    /// A q/v adapter for `f` whose B is filled with `value`, saved with the base path recorded.
    private func adapter(_ f: ExportFixture, filledWith value: Float) throws -> String {
        let dir = try scratchDirectory(self) + "/adapter"
        let adapters = LoRAAdapters.initialize(LoRAConfig(rank: 2, alpha: 4, targets: [.q, .v]), model: try f.config, seed: 3)
        for (name, variable) in adapters.namedParameters where name.contains("lora_B") { variable.value.fill(value) }
        try PEFTAdapter.save(adapters, baseModel: f.dir, to: dir)
        return dir
    }

    func testNonFiniteAdapterIsRefused() throws {
        let f = try ExportFixture("tiny-llama3")
        let source = try adapter(f, filledWith: .nan)
        let out = try scratchDirectory(self) + "/out"
        XCTAssertThrowsError(try Exporter.export(ExportOptions(source: source, output: out))) { error in
            guard case ExportError.nonFiniteAdapter = error else { return XCTFail("got \(error)") }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    func testFloat16OverflowIsRefused() throws {
        let f = try ExportFixture("tiny-llama3")
        // |A| ≤ 1/8 here, so B = 1e6 gives |ΔW| up to ~5e5: beyond float16's 65504, fine in bf16.
        let source = try adapter(f, filledWith: 1e6)
        let scratch = try scratchDirectory(self)
        XCTAssertThrowsError(try Exporter.export(ExportOptions(source: source, output: scratch + "/f16", dtype: .f16))) { error in
            guard case ExportError.overflow = error else { return XCTFail("got \(error)") }
            XCTAssertTrue(error.localizedDescription.contains("--dtype bf16"), error.localizedDescription)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch + "/f16"))
    }
}
