import XCTest
@testable import Tokenizer

final class StreamingDecoderTests: XCTestCase {
    /// "谛" (E8 B0 9B) is split over ids 39013 (E8 B0) and 249 (9B); "😀" (F0 9F 98 80) over 76460 and 222.
    func testHoldsBackASplitCharacter() throws {
        let tokenizer = try Fixtures.tiktoken.get()
        XCTAssertEqual(tokenizer.tokenBytes(39013), [0xE8, 0xB0])
        XCTAssertEqual(tokenizer.tokenBytes(249), [0x9B])
        var stream = StreamingDecoder(tokenizer: tokenizer)
        XCTAssertEqual(stream.append(104654), "生活")
        XCTAssertEqual(stream.append(39013), "")
        XCTAssertEqual(stream.append(249), "谛")
        XCTAssertEqual(stream.append(76460), "")
        XCTAssertEqual(stream.append(222), "😀")
        XCTAssertEqual(stream.append(128009), "<|eot_id|>")
        XCTAssertEqual(stream.finish(), "")
    }

    /// An unfinished character at the end becomes U+FFFD on finish; bytes that cannot start a character
    /// are not held back.
    func testInvalidAndUnfinishedBytes() throws {
        let tokenizer = try Fixtures.tiktoken.get()
        var stream = StreamingDecoder(tokenizer: tokenizer)
        XCTAssertEqual(stream.append(15339), "hello")
        XCTAssertEqual(stream.append(39013), "")
        XCTAssertEqual(stream.finish(), "\u{FFFD}")
        XCTAssertEqual(stream.append(249), "\u{FFFD}")   // a lone continuation byte (9B)
        XCTAssertEqual(stream.finish(), "")
    }

    func testTailLengthRules() {
        XCTAssertEqual(StreamingDecoder.incompleteTailLength([0x61]), 0)
        XCTAssertEqual(StreamingDecoder.incompleteTailLength([0x61, 0xE8]), 1)
        XCTAssertEqual(StreamingDecoder.incompleteTailLength([0xE8, 0xB0]), 2)
        XCTAssertEqual(StreamingDecoder.incompleteTailLength([0xE8, 0xB0, 0x9B]), 0)
        XCTAssertEqual(StreamingDecoder.incompleteTailLength([0xF0, 0x9F, 0x98]), 3)
        XCTAssertEqual(StreamingDecoder.incompleteTailLength([0xE0, 0x80]), 0)   // overlong: never valid
        XCTAssertEqual(StreamingDecoder.incompleteTailLength([0xED, 0xA0]), 0)   // surrogate: never valid
        XCTAssertEqual(StreamingDecoder.incompleteTailLength([0xF4, 0x90]), 0)   // > U+10FFFF
        XCTAssertEqual(StreamingDecoder.incompleteTailLength([0xC0]), 0)
        XCTAssertEqual(StreamingDecoder.incompleteTailLength([0x80, 0x80, 0x80]), 0)
    }

    /// Streaming one id at a time equals one decode, for every golden case and for random byte tokens.
    func testStreamingEqualsDecode() throws {
        let tokenizer = try Fixtures.tiktoken.get()
        var sequences = try Fixtures.cases.get().map(\.ids)
        var generator = SystemRandomNumberGenerator()
        let byteTokens = (0...255).map { b -> Int in var byte = UInt8(b); return tokenizer.store.lookup(&byte, 1) }
        for _ in 0..<300 {
            sequences.append((0..<Int.random(in: 1...12, using: &generator)).map { _ in
                Bool.random(using: &generator) ? byteTokens.randomElement(using: &generator)! : Int.random(in: 0..<128256, using: &generator)
            })
        }
        for ids in sequences {
            var stream = StreamingDecoder(tokenizer: tokenizer)
            var text = ""
            for id in ids {
                let piece = stream.append(id)
                text += piece
            }
            text += stream.finish()
            XCTAssertEqual(text, tokenizer.decode(ids), "\(ids)")
        }
    }
}
