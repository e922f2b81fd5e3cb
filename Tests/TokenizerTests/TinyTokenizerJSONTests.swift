import XCTest
@testable import Tokenizer

/// Hand-made tokenizer.json files whose expected ids are worked out by hand from the merge rules.
/// Single bytes have id = byte value; extra tokens are numbered from 256.
final class TinyTokenizerJSONTests: XCTestCase {
    /// Merges, in priority order, and the tokens they create (ids 256…263):
    ///   0 "t"+"h"→"th"(256)  1 " "+"c"→" c"(257)  2 "th"+"e"→"the"(258)  3 "a"+"t"→"at"(259)
    ///   4 " c"+"at"→" cat"(260)  5 "'"+"s"→"'s"(261)  6 "4"+"2"→"42"(262)  7 " "+"4"→" 4"(263)
    private let extra = ["th", " c", "the", "at", " cat", "'s", "42", " 4"]
    private let merges = [("t", "h"), (" ", "c"), ("th", "e"), ("a", "t"), (" c", "at"), ("'", "s"), ("4", "2"), (" ", "4")]

    /// GPT-2 pattern: "the cat's 42" → pieces "the", " cat", "'s", " 42".
    ///   "the":  t h e → (t,h) has priority 0 → th e → (th,e) 2 → the = 258
    ///   " cat": ␠ c a t → (␠,c) 1 beats (a,t) 3 → ␠c a t → (a,t) 3 → ␠c at → (␠c,at) 4 → 260
    ///   "'s":   261
    ///   " 42":  ␠ 4 2 → (4,2) 6 beats (␠,4) 7 → ␠ 42 → no rule for (␠,42) → [32, 262]
    func testGPT2ByteLevelMergesByPriority() throws {
        let directory = try Fixtures.temporaryDirectory(self)
        let json = Fixtures.tinyTokenizerJSON(extra: extra, merges: merges, mergesAsPairs: true, ignoreMerges: nil,
                                              preTokenizer: Fixtures.gpt2PreTokenizer)
        let tokenizer = try Tokenizer.load(path: Fixtures.write(json, to: directory))
        XCTAssertEqual(tokenizer.preTokenizer, [.gpt2])
        XCTAssertEqual(tokenizer.vocabularySize, 264)
        XCTAssertEqual(tokenizer.encode("the cat's 42"), [258, 260, 261, 32, 262])
        XCTAssertEqual(tokenizer.decode([258, 260, 261, 32, 262]), "the cat's 42")
        // Case-sensitive contraction: "'S" is "'" then "S" (bytes 39, 83).
        XCTAssertEqual(tokenizer.encode("'S"), [39, 83])
        // Without ignore_merges a token reached only by merges is never looked up whole: "42" merges, " 4" too.
        XCTAssertEqual(tokenizer.encode(" 4"), [263])
    }

    /// SmolLM2-style Sequence[Digits(individual_digits), ByteLevel(use_regex)], merges as "a b" strings:
    /// digits are split first, so "42" never forms: "the cat's 42" → "the", " cat", "'s", " ", "4", "2"
    /// → [258, 260, 261, 32, 52, 50].
    func testDigitsSplitBeforeByteLevel() throws {
        let directory = try Fixtures.temporaryDirectory(self)
        let json = Fixtures.tinyTokenizerJSON(extra: extra, merges: merges, mergesAsPairs: false, ignoreMerges: false,
                                              preTokenizer: Fixtures.smolLM2PreTokenizer)
        let tokenizer = try Tokenizer.load(path: Fixtures.write(json, to: directory))
        XCTAssertEqual(tokenizer.preTokenizer, [.digits(individual: true), .gpt2])
        XCTAssertEqual(tokenizer.encode("the cat's 42"), [258, 260, 261, 32, 52, 50])
    }
}
