/// Finds special-token strings (e.g. `<|eot_id|>`) typed inside message content.
///
/// Such text is encoded as plain text (docs/formats.md, Tokenizer); the pipeline only counts and reports it, because
/// Hugging Face tokenizers would turn it into control tokens and models trained elsewhere may differ.
struct SpecialTextDetector: Sendable {
    /// Candidate names indexed by their first UTF-8 byte.
    private let byFirstByte: [[[UInt8]]]

    init(names: [String]) {
        var table = [[[UInt8]]](repeating: [], count: 256)
        for name in Set(names) where !name.isEmpty {
            let bytes = Array(name.utf8)
            table[Int(bytes[0])].append(bytes)
        }
        byFirstByte = table
    }

    func contains(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            for i in bytes.indices {
                for name in byFirstByte[Int(bytes[i])] where name.count <= bytes.count - i {
                    var match = true
                    for k in 1..<name.count where bytes[i + k] != name[k] {
                        match = false
                        break
                    }
                    if match { return true }
                }
            }
            return false
        }
    }
}
