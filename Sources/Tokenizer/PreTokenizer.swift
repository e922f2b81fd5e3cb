/// One splitting step of a pre-tokenizer. Steps apply in order; each splits the pieces of the previous one.
///
/// Hand-written scanners replace the reference regexes (no `Regex`/`NSRegularExpression` in the hot path:
/// ICU's `\s` and Swift's grapheme semantics both differ from the reference engine; docs/formats.md, Tokenizer). Each
/// scanner returns where the match starting at a position ends, following the regex's leftmost-first
/// alternation and backtracking exactly; every scalar is covered by some alternative, so the matches tile
/// the text and no text is dropped.
public enum PreTokenizerStep: Sendable, Equatable {
    /// Llama 3 (= tiktoken cl100k) pattern, `LlamaPattern.llama3`.
    case llama3
    /// GPT-2 pattern, the `ByteLevel` pre-tokenizer's own regex when `use_regex` is true.
    case gpt2
    /// HF `Digits`: each digit (`individual`) or each run of digits becomes its own piece.
    case digits(individual: Bool)
}

/// The regex strings recognised in `tokenizer.json` `Split` pre-tokenizers.
enum KnownPattern {
    static let llama3 = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let gpt2 = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
}

/// A UTF-8 text decoded once into per-scalar classes and byte offsets, so scanners can look ahead and back.
/// Scalar indices `i` index `classes`; `starts[i]` is the scalar's byte offset (`starts[count]` = byte count).
struct ClassifiedText {
    let bytes: UnsafePointer<UInt8>
    let classes: UnsafeMutablePointer<UInt8>
    let starts: UnsafeMutablePointer<Int>
    let count: Int

    /// Decodes valid UTF-8 (a Swift String's storage). `classes` and `starts` need `utf8.count + 1` slots.
    init(utf8: UnsafeBufferPointer<UInt8>, classes: UnsafeMutablePointer<UInt8>, starts: UnsafeMutablePointer<Int>,
         table: UnsafePointer<UInt8>) {
        let p = utf8.baseAddress!
        let n = utf8.count
        var i = 0
        var k = 0
        while i < n {
            let b0 = p[i]
            starts[k] = i
            if b0 < 0x80 {
                classes[k] = table[Int(b0)]
                i += 1
            } else {
                var value: UInt32
                if b0 < 0xE0 {
                    value = UInt32(b0 & 0x1F) << 6 | UInt32(p[i + 1] & 0x3F)
                    i += 2
                } else if b0 < 0xF0 {
                    value = UInt32(b0 & 0x0F) << 12 | UInt32(p[i + 1] & 0x3F) << 6 | UInt32(p[i + 2] & 0x3F)
                    i += 3
                } else {
                    value = UInt32(b0 & 0x07) << 18 | UInt32(p[i + 1] & 0x3F) << 12
                    value |= UInt32(p[i + 2] & 0x3F) << 6 | UInt32(p[i + 3] & 0x3F)
                    i += 4
                }
                classes[k] = ScalarClass.of(value, table: table)
            }
            k += 1
        }
        starts[k] = n
        classes[k] = 0
        bytes = p
        self.classes = classes
        self.starts = starts
        count = k
    }

    @inline(__always) func pieceEnd(_ step: PreTokenizerStep, from i: Int, to end: Int) -> Int {
        switch step {
        case .llama3: return llama3PieceEnd(from: i, to: end)
        case .gpt2: return gpt2PieceEnd(from: i, to: end)
        case .digits(let individual): return digitsPieceEnd(from: i, to: end, individual: individual)
        }
    }

    /// First index ≥ `i` (and ≤ `end`) whose class has none of the bits in `mask`.
    @inline(__always) private func run(_ mask: UInt8, from i: Int, to end: Int) -> Int {
        var j = i
        while j < end && classes[j] & mask != 0 { j += 1 }
        return j
    }

    /// Llama 3:
    /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
    @inline(__always) func llama3PieceEnd(from i: Int, to end: Int) -> Int {
        let c = classes[i]
        // (?i:'s|'t|'re|'ve|'m|'ll|'d)
        if c == ScalarClass.apostrophe, let n = contraction(after: i, to: end, ignoringCase: true) { return i + 1 + n }
        // [^\r\n\p{L}\p{N}]?\p{L}+
        if c & ScalarClass.letter != 0 { return run(ScalarClass.letter, from: i + 1, to: end) }
        if c & (ScalarClass.lineBreak | ScalarClass.number) == 0, i + 1 < end, classes[i + 1] & ScalarClass.letter != 0 {
            return run(ScalarClass.letter, from: i + 2, to: end)
        }
        // \p{N}{1,3}
        if c & ScalarClass.number != 0 { return run(ScalarClass.number, from: i + 1, to: min(end, i + 3)) }
        // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
        var j = -1
        if c & ScalarClass.other != 0 {
            j = i + 1
        } else if c == ScalarClass.space, i + 1 < end, classes[i + 1] & ScalarClass.other != 0 {
            j = i + 2
        }
        if j >= 0 { return run(ScalarClass.lineBreak, from: run(ScalarClass.other, from: j, to: end), to: end) }
        // Here c is whitespace. Let [i, wsEnd) be its run.
        let wsEnd = run(ScalarClass.whitespace, from: i + 1, to: end)
        // \s*[\r\n]+ : `\s*` backtracks to the run's last line break, which `[\r\n]+` then takes.
        var k = wsEnd - 1
        while k >= i {
            if classes[k] == ScalarClass.lineBreak { return k + 1 }
            k -= 1
        }
        return whitespaceRunMatch(from: i, runEnd: wsEnd, end: end)
    }

    /// GPT-2: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+` (case-sensitive).
    @inline(__always) func gpt2PieceEnd(from i: Int, to end: Int) -> Int {
        let c = classes[i]
        if c == ScalarClass.apostrophe, let n = contraction(after: i, to: end, ignoringCase: false) { return i + 1 + n }
        // The optional leading space belongs to the letter / number / other run that follows it.
        var j = i
        let wordLike = ScalarClass.letter | ScalarClass.number | ScalarClass.other
        if c == ScalarClass.space, i + 1 < end, classes[i + 1] & wordLike != 0 { j = i + 1 }
        let d = classes[j]
        if d & ScalarClass.letter != 0 { return run(ScalarClass.letter, from: j + 1, to: end) }
        if d & ScalarClass.number != 0 { return run(ScalarClass.number, from: j + 1, to: end) }
        if d & ScalarClass.other != 0 { return run(ScalarClass.other, from: j + 1, to: end) }
        let wsEnd = run(ScalarClass.whitespace, from: i + 1, to: end)
        return whitespaceRunMatch(from: i, runEnd: wsEnd, end: end)
    }

    /// `\s+(?!\S)|\s+` on the whitespace run [i, runEnd): the whole run at the end of the text; otherwise all
    /// but its last scalar, which is left to prefix the next word; a single scalar matches `\s+` alone.
    @inline(__always) private func whitespaceRunMatch(from i: Int, runEnd: Int, end: Int) -> Int {
        if runEnd == end || runEnd - i == 1 { return runEnd }
        return runEnd - 1
    }

    /// HF `Digits` with behaviour Isolated: digits (`\p{N}`, Rust `char::is_numeric`) split off.
    @inline(__always) func digitsPieceEnd(from i: Int, to end: Int, individual: Bool) -> Int {
        if classes[i] & ScalarClass.number != 0 {
            return individual ? i + 1 : run(ScalarClass.number, from: i + 1, to: end)
        }
        var j = i + 1
        while j < end && classes[j] & ScalarClass.number == 0 { j += 1 }
        return j
    }

    /// Length in scalars of the contraction suffix after the apostrophe at `i` (`s t re ve m ll d`), or nil.
    @inline(__always) private func contraction(after i: Int, to end: Int, ignoringCase: Bool) -> Int? {
        guard i + 1 < end else { return nil }
        switch letterCode(at: i + 1, ignoringCase: ignoringCase) {
        case UInt8(ascii: "s"), UInt8(ascii: "t"), UInt8(ascii: "m"), UInt8(ascii: "d"):
            return 1
        case UInt8(ascii: "r"), UInt8(ascii: "v"):
            return i + 2 < end && letterCode(at: i + 2, ignoringCase: ignoringCase) == UInt8(ascii: "e") ? 2 : nil
        case UInt8(ascii: "l"):
            return i + 2 < end && letterCode(at: i + 2, ignoringCase: ignoringCase) == UInt8(ascii: "l") ? 2 : nil
        default:
            return nil
        }
    }

    /// The ASCII letter at scalar `k` (lower-cased when `ignoringCase`), or 0. Under case folding U+017F
    /// (ſ, LATIN SMALL LETTER LONG S) is an `s`, as in the reference engines' Unicode simple case folding.
    @inline(__always) private func letterCode(at k: Int, ignoringCase: Bool) -> UInt8 {
        guard classes[k] == ScalarClass.letter else { return 0 }
        let p = starts[k]
        let b = bytes[p]
        if b < 0x80 { return ignoringCase ? b | 0x20 : b }
        if ignoringCase && b == 0xC5 && bytes[p + 1] == 0xBF { return UInt8(ascii: "s") }
        return 0
    }
}
