/// JSON text emitters that reproduce the reference writers byte for byte.
enum JSONText {
    /// A JSON string literal escaped the way Rust's `serde_json` does (what the safetensors library uses
    /// for headers): `"` and `\` escaped, `\b \f \n \r \t` short forms, other control bytes as `\u00xx`
    /// with lowercase hex, and everything else — including non-ASCII — as raw UTF-8.
    static func serdeString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{00}"..."\u{1F}": out += "\\u00" + hex2(scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// A JSON string literal escaped the way Python's `json.dumps` does by default (`ensure_ascii=True`),
    /// which is how transformers writes `model.safetensors.index.json`: non-ASCII as `\uxxxx` (astral
    /// characters as surrogate pairs), lowercase hex.
    static func pythonString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{20}"..."\u{7E}": out.unicodeScalars.append(scalar)
            default:
                for unit in String(scalar).utf16 { out += "\\u" + hex4(UInt32(unit)) }
            }
        }
        return out + "\""
    }

    private static func hex2(_ v: UInt32) -> String {
        let h = String(v, radix: 16)
        return String(repeating: "0", count: 2 - h.count) + h
    }

    private static func hex4(_ v: UInt32) -> String {
        let h = String(v, radix: 16)
        return String(repeating: "0", count: 4 - h.count) + h
    }
}
