/// Python `str.strip()` (= Jinja's `trim`), which the Llama 3 chat templates apply to every content.
///
/// Removes leading and trailing scalars for which Python's `str.isspace()` is true: U+0009–000D,
/// U+001C–001F, U+0020, U+0085, U+00A0, U+1680, U+2000–200A, U+2028, U+2029, U+202F, U+205F, U+3000.
/// Swift's `.whitespacesAndNewlines` is a different set (it lacks U+001C–001F), hence the explicit table
/// (docs/formats.md, Chat templates). U+200B, U+FEFF and U+180E are not stripped.
public func pythonStrip(_ text: String) -> String {
    let scalars = text.unicodeScalars
    var start = scalars.startIndex
    var end = scalars.endIndex
    while start < end, isPythonSpace(scalars[start]) { start = scalars.index(after: start) }
    while end > start {
        let before = scalars.index(before: end)
        if !isPythonSpace(scalars[before]) { break }
        end = before
    }
    if start == scalars.startIndex && end == scalars.endIndex { return text }
    return String(scalars[start..<end])
}

/// True for the 29 code points where Python's `str.isspace()` is true.
public func isPythonSpace(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.value {
    case 0x09...0x0D, 0x1C...0x1F, 0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
        return true
    default:
        return false
    }
}
