import XCTest
@testable import Tokenizer

final class UnicodeAndAlphabetTests: XCTestCase {
    /// `\s` must be exactly Unicode White_Space (PropList.txt), which is what Swift's isWhitespace reports.
    func testWhitespaceIsUnicodeWhiteSpace() {
        var expected: Set<UInt32> = [0x20, 0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000]
        expected.formUnion(0x09...0x0D)
        expected.formUnion(0x2000...0x200A)
        var found: Set<UInt32> = []
        for value in UInt32(0)...0x10FFFF {
            guard let scalar = Unicode.Scalar(value) else { continue }
            if ScalarClass.compute(scalar) & ScalarClass.whitespace != 0 { found.insert(value) }
        }
        XCTAssertEqual(found, expected)
    }

    func testClasses() {
        func cls(_ s: Unicode.Scalar) -> UInt8 { ScalarClass.compute(s) }
        XCTAssertEqual(cls("a"), ScalarClass.letter)
        XCTAssertEqual(cls("\u{17F}"), ScalarClass.letter)      // ſ
        XCTAssertEqual(cls("\u{2B0}"), ScalarClass.letter)      // ʰ Lm
        XCTAssertEqual(cls("\u{2163}"), ScalarClass.number)     // Ⅳ Nl
        XCTAssertEqual(cls("\u{B2}"), ScalarClass.number)       // ² No
        XCTAssertEqual(cls("\u{663}"), ScalarClass.number)      // ٣ Nd
        XCTAssertEqual(cls("\u{301}"), ScalarClass.other)       // combining acute, Mn
        XCTAssertEqual(cls("\u{200B}"), ScalarClass.other)      // zero width space is not White_Space
        XCTAssertEqual(cls("\u{0378}"), ScalarClass.other)      // unassigned
        XCTAssertEqual(cls("\u{323B0}"), ScalarClass.other)     // CJK Ext. J: Unicode 17.0, after the pinned 16.0
        XCTAssertEqual(cls("\u{A7CB}"), ScalarClass.letter)     // Unicode 16.0
        XCTAssertEqual(cls("'"), ScalarClass.apostrophe)
        XCTAssertEqual(cls("\u{2019}"), ScalarClass.other)      // ’ is not a contraction apostrophe
        XCTAssertEqual(cls(" "), ScalarClass.space)
        XCTAssertEqual(cls("\r"), ScalarClass.lineBreak)
        XCTAssertEqual(cls("\u{85}"), ScalarClass.otherWhitespace)
    }

    /// GPT-2 bytes_to_unicode examples from docs/formats.md, Tokenizer, and that it is a bijection onto 256 scalars.
    func testByteLevelAlphabet() {
        let map = ByteLevelAlphabet.scalarForByte
        XCTAssertEqual(map[0x20], 0x120)   // Ġ
        XCTAssertEqual(map[0x0A], 0x10A)   // Ċ
        XCTAssertEqual(map[0x09], 0x109)   // ĉ
        XCTAssertEqual(map[0x0D], 0x10D)   // č
        XCTAssertEqual(map[0xA0], 0x142)   // ł
        XCTAssertEqual(map[0xAD], 0x143)   // Ń
        XCTAssertEqual(map[0x41], 0x41)
        XCTAssertEqual(map[0xFF], 0xFF)
        XCTAssertEqual(Set(map).count, 256)
        for b in 0...255 {
            XCTAssertEqual(ByteLevelAlphabet.string(of: [UInt8(b)]), Fixtures.byteLevel([UInt8(b)]))
            XCTAssertEqual(ByteLevelAlphabet.bytes(of: Fixtures.byteLevel([UInt8(b)])), [UInt8(b)])
        }
        XCTAssertNil(ByteLevelAlphabet.bytes(of: " "))   // a raw space is not part of the alphabet
    }
}
