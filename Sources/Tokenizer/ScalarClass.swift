/// Character classes the pre-tokenizer patterns need, as bit flags over Unicode scalars.
///
/// The reference engine (Rust `regex`, used by tiktoken) reads `\s` as Unicode White_Space, `\p{L}` as the
/// letter categories (Lu Ll Lt Lm Lo) and `\p{N}` as the number categories (Nd Nl No), per scalar value
/// (docs/formats.md, Tokenizer). Swift's `Unicode.Scalar.Properties.isWhitespace` is the White_Space property.
///
/// The Unicode version is pinned to the reference's: tiktoken 0.14's regex tables are Unicode 16.0 (checked:
/// CJK Extension J, new in 17.0, is not `\p{L}` there), while Swift 6.3's are 17.0. A letter or number
/// assigned after `unicodeVersion` is classed as unassigned (`other`), so ids do not change with the toolchain.
enum ScalarClass {
    /// The Unicode version whose letter / number assignments the patterns see.
    static let unicodeVersion = (major: 16, minor: 0)

    static let letter: UInt8 = 1
    static let number: UInt8 = 2
    /// U+0020 only: the patterns' literal `" ?"`.
    static let space: UInt8 = 4
    /// `\r` or `\n`: the patterns' `[\r\n]`.
    static let lineBreak: UInt8 = 8
    /// Every other White_Space scalar.
    static let otherWhitespace: UInt8 = 16
    /// Not whitespace, letter or number: the patterns' `[^\s\p{L}\p{N}]`.
    static let other: UInt8 = 32
    /// U+0027 (which is also `other`): may start a contraction.
    static let apostrophe: UInt8 = 64 | other

    static let whitespace: UInt8 = space | lineBreak | otherWhitespace

    /// Class of every Basic Multilingual Plane scalar; computed once (≈ 65k property look-ups).
    static let basicPlane: [UInt8] = (0..<0x10000).map { v in
        guard let scalar = Unicode.Scalar(UInt32(v)) else { return other }   // surrogates never occur in a String
        return compute(scalar)
    }

    @inline(__always) static func of(_ value: UInt32, table: UnsafePointer<UInt8>) -> UInt8 {
        if value < 0x10000 { return table[Int(value)] }
        return compute(Unicode.Scalar(value)!)
    }

    static func compute(_ scalar: Unicode.Scalar) -> UInt8 {
        switch scalar.value {
        case 0x20: return space
        case 0x0A, 0x0D: return lineBreak
        case 0x27: return apostrophe
        default: break
        }
        let properties = scalar.properties
        if properties.isWhitespace { return otherWhitespace }
        guard let age = properties.age, (age.major, age.minor) <= unicodeVersion else { return other }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return letter
        case .decimalNumber, .letterNumber, .otherNumber:
            return number
        default:
            return other
        }
    }
}
