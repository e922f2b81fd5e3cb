import XCTest
@testable import Tokenizer

/// The hand-written scanners against splits derived by hand from the regexes (docs/formats.md, Tokenizer).
final class PreTokenizerTests: XCTestCase {
    private func pieces(_ steps: [PreTokenizerStep], _ text: String) throws -> [String] {
        // Any loaded tokenizer will do: the pre-tokenizer is swapped in through a tiny tokenizer.json.
        let preTokenizer: [String: Any]
        switch steps {
        case [.llama3]: preTokenizer = Fixtures.llama3PreTokenizer
        case [.gpt2]: preTokenizer = Fixtures.gpt2PreTokenizer
        case [.digits(individual: true), .gpt2]: preTokenizer = Fixtures.smolLM2PreTokenizer
        default:
            XCTFail("no fixture for \(steps)")  // a test asking for one is wrong: fail, never skip
            throw CocoaError(.featureUnsupported)
        }
        let directory = try Fixtures.temporaryDirectory(self)
        let json = Fixtures.tinyTokenizerJSON(extra: [], merges: [], mergesAsPairs: true, ignoreMerges: nil, preTokenizer: preTokenizer)
        let tokenizer = try Tokenizer.load(path: Fixtures.write(json, to: directory))
        XCTAssertEqual(tokenizer.preTokenizer, steps)
        return tokenizer.preTokenize(text)
    }

    func testLlama3Pattern() throws {
        // `\s+(?!\S)` leaves the last space of a run for the next word; `\p{N}{1,3}`; `\s*[\r\n]+` ends at
        // the run's last line break; ` ?[^\s\p{L}\p{N}]+[\r\n]*` keeps trailing line breaks.
        XCTAssertEqual(try pieces([.llama3], "Hello world's  test 123abc\n\n"),
                       ["Hello", " world", "'s", " ", " test", " ", "123", "abc", "\n\n"])
        XCTAssertEqual(try pieces([.llama3], "   leading"), ["  ", " leading"])
        XCTAssertEqual(try pieces([.llama3], "1234567"), ["123", "456", "7"])
        XCTAssertEqual(try pieces([.llama3], "end.\n\nNext  \n x"), ["end", ".\n\n", "Next", "  \n", " x"])
        // Case-insensitive contractions; the optional prefix may be punctuation or a tab, never a line break.
        XCTAssertEqual(try pieces([.llama3], "I'LL 'Re\tgo\nok $x"), ["I", "'LL", " '", "Re", "\tgo", "\n", "ok", " $", "x"])
        // U+0085 and U+00A0 are White_Space (ICU's \s misses U+0085); U+200B is not.
        XCTAssertEqual(try pieces([.llama3], "a\u{85}\u{85}b\u{200B}c"), ["a", "\u{85}", "\u{85}b", "\u{200B}c"])
        XCTAssertEqual(try pieces([.llama3], "x  "), ["x", "  "])
        XCTAssertEqual(try pieces([.llama3], "\r\n\r\n"), ["\r\n\r\n"])
    }

    func testGPT2Pattern() throws {
        // Contractions are case-sensitive; " ?" attaches one space to letters, numbers or other runs.
        XCTAssertEqual(try pieces([.gpt2], "Hello world's  test 123abc\n\n"),
                       ["Hello", " world", "'s", " ", " test", " 123", "abc", "\n\n"])
        XCTAssertEqual(try pieces([.gpt2], "I'LL go!! \n x"), ["I", "'", "LL", " go", "!!", " \n", " x"])
        XCTAssertEqual(try pieces([.gpt2], "12345 ?!x"), ["12345", " ?!", "x"])
    }

    /// SmolLM2: Digits(individual) splits first, and the GPT-2 regex then sees each piece on its own, so a
    /// space before a digit is a whole piece (its lookahead sees the piece's end).
    func testDigitsThenGPT2() throws {
        XCTAssertEqual(try pieces([.digits(individual: true), .gpt2], "abc 123 d"), ["abc", " ", "1", "2", "3", " d"])
        XCTAssertEqual(try pieces([.digits(individual: true), .gpt2], "x²"), ["x", "²"])
    }
}
