import Tokenizer

/// What ChatData needs from a tokenizer.
///
/// `Tokenizer` conforms; tests can supply a small fake. `encode` must treat special-token text as
/// ordinary text and add no BOS: templates insert special tokens by id (docs/formats.md, Tokenizer).
public protocol ChatTokenizer: Sendable {
    /// Number of ids (base vocabulary plus special tokens); every valid id is below it.
    var vocabularySize: Int { get }
    /// Plain-text BPE encoding: no BOS, special-token strings are ordinary text.
    func encode(_ text: String) -> [Int]
    /// The exact bytes the ids stand for, concatenated.
    func decodeBytes(_ ids: [Int]) -> [UInt8]
    /// `decodeBytes` as a String (invalid UTF-8 becomes U+FFFD).
    func decode(_ ids: [Int]) -> String
    /// The id of a special token by its name, e.g. `"<|eot_id|>"` → 128009; nil when absent.
    func specialTokenID(_ name: String) -> Int?
    /// The token's vocabulary string (the special name for special tokens), nil for an unknown id.
    func tokenString(_ id: Int) -> String?
    /// Whether the id is a special (control) token.
    func isSpecial(_ id: Int) -> Bool
}

extension Tokenizer: ChatTokenizer {}

extension ChatTokenizer {
    /// Names of every special token, used to detect special-token text inside content.
    func specialTokenNames() -> [String] {
        var names: [String] = []
        for id in 0..<vocabularySize where isSpecial(id) {
            if let name = tokenString(id), !name.isEmpty { names.append(name) }
        }
        return names
    }
}
