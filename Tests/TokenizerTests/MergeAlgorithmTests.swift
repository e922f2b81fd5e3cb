import XCTest
@testable import Tokenizer

/// The two merge implementations (linear scan for short pieces, heap for long ones) must agree.
final class MergeAlgorithmTests: XCTestCase {
    func testHeapAndLinearMergesAgree() throws {
        for tokenizer in [try Fixtures.tiktoken.get(), try Fixtures.tokenizerJSON.get()] {
            let merger = tokenizer.merger
            let workspace = MergeWorkspace()
            var generator = SystemRandomNumberGenerator()
            let alphabets: [[UInt8]] = [Array("ab".utf8), Array("etaoin shrdlu".utf8), Array("0123456789".utf8),
                                        Array("Việt 中文 😀".utf8), (0...255).map { UInt8($0) }]
            for round in 0..<400 {
                let alphabet = alphabets[round % alphabets.count]
                let bytes = (0..<Int.random(in: 2...BytePairMerger.linearLimit, using: &generator)).map { _ in
                    alphabet.randomElement(using: &generator)!
                }
                var linear: [Int] = []
                var heap: [Int] = []
                bytes.withUnsafeBufferPointer { p in
                    merger.merge(p.baseAddress!, p.count, workspace, into: &linear)
                    merger.merge(p.baseAddress!, p.count, workspace, into: &heap, forceHeap: true)
                }
                XCTAssertEqual(linear, heap, "\(bytes)")
                XCTAssertEqual(tokenizer.decodeBytes(heap), bytes)
            }
        }
    }
}
