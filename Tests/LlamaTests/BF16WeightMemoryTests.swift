import Autodiff
import Foundation
import Llama
import Tensors
import XCTest

/// precision bf16 keeps one bf16 copy of each frozen weight: `prepare` releases the stored bases
/// (fp32 tensors, the pages of a mapped bf16 file) once they are packed, and the results are those of
/// the packed weights with their bases kept, bit for bit.
final class BF16WeightMemoryTests: XCTestCase {
    /// Loss and every LoRA gradient of the golden batch, as bit patterns.
    func lossAndGradients(_ model: LlamaModel, _ f: GoldenFixture) throws -> [UInt32] {
        let run = try f.batchLossAndGradients(model)
        return ([run.lossSum] + run.adapters.namedParameters.flatMap { $0.variable.grad!.array }).map(\.bitPattern)
    }

    /// Packs what `prepare` packs, keeping every base (what precision bf16 did before the release).
    func packKeepingBases(_ w: LlamaWeights) {
        for layer in w.layers { for m in [layer.qkv, layer.gateUp, layer[.o], layer[.down]] { m.packBF16() } }
        w.lmHead.packBF16()
    }

    func isPanels(_ w: FrozenWeight) -> Bool {
        if case .bf16Panels = w.storage { return true }
        return false
    }

    func testReleasedBasesGiveTheSameResultsBitForBit() throws {
        for name in fixtureNames {
            for subdir in [nil, "model-bf16"] {
                let f = try GoldenFixture(name)
                let kept = try f.model(subdir: subdir), released = try f.model(subdir: subdir)
                packKeepingBases(kept.weights)
                XCTAssertEqual(released.weights.prepare(precision: .bf16), .bf16)
                for layer in released.weights.layers {
                    for p in Projection.allCases { XCTAssertTrue(isPanels(layer[p]), "\(name) \(subdir ?? "fp32") \(p) kept its base") }
                    XCTAssertTrue(isPanels(layer.qkv) && isPanels(layer.gateUp))
                }
                let w = released.weights
                if w.lmHead === w.embedding && subdir == nil {
                    // A tied fp32 embedding keeps its stored values for the lookup (autocast leaves embeddings alone).
                    guard case .float32 = w.embedding.storage else { return XCTFail("\(name): the tied fp32 embedding was released") }
                } else {
                    XCTAssertTrue(isPanels(w.lmHead), "\(name) \(subdir ?? "fp32"): the LM head kept its base")
                }
                // The embedding lookup reads the stored values, widened, whichever storage holds them.
                let ids = Array(0..<w.embedding.rows)
                let stored = try kept.weights.source!.float32Array("model.embed_tokens.weight")
                XCTAssertEqual(Tape().embedding(ids, table: w.embedding).value.array, stored, "\(name) \(subdir ?? "fp32") embedding")
                XCTAssertEqual(try lossAndGradients(released, f), try lossAndGradients(kept, f), "\(name) \(subdir ?? "fp32")")
            }
        }
    }

    /// The pages of the packed tensors leave the resident set (read from /proc/self/smaps for the
    /// file's mapping): only the header, the norms and partial pages at tensor edges stay.
    func testPagesOfAMappedBF16FileAreReleased() throws {
        #if os(Linux)
        let f = try GoldenFixture("tiny-llama32")
        let model = try f.model(subdir: "model-bf16")
        let w = model.weights
        let address = Int(bitPattern: try w.source!.rawBytes("model.embed_tokens.weight").baseAddress!)
        for layer in w.layers { for p in Projection.allCases { _ = layer[p].toTensor() } }  // every page touched
        _ = w.embedding.toTensor()
        let before = try residentKiB(ofMappingAt: address)
        w.prepare(precision: .bf16)
        let after = try residentKiB(ofMappingAt: address)
        let fileKiB = try FileManager.default.attributesOfItem(atPath: f.path("model-bf16/model.safetensors"))[.size] as! Int / 1024
        XCTAssertGreaterThanOrEqual(before, fileKiB * 9 / 10, "not every page was touched")
        XCTAssertLessThan(after, before / 3, "resident before \(before) KiB, after \(after) KiB")
        #endif
    }

    /// `Rss` of the mapping that contains `address`, from /proc/self/smaps.
    func residentKiB(ofMappingAt address: Int) throws -> Int {
        // /proc files report size 0: read to the end rather than by size.
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: "/proc/self/smaps"))
        defer { try? handle.close() }
        let text = String(decoding: try handle.readToEnd() ?? Data(), as: UTF8.self)
        var inside = false
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if let range = fields.first, range.contains("-"), !range.hasSuffix(":") {
                let bounds = range.split(separator: "-").compactMap { Int($0, radix: 16) }
                inside = bounds.count == 2 && bounds[0] <= address && address < bounds[1]
            } else if inside && fields.first == "Rss:" {
                return Int(fields[1])!
            }
        }
        throw XCTSkip("no mapping at \(String(address, radix: 16)) in /proc/self/smaps (\(text.count) characters)")
    }
}
