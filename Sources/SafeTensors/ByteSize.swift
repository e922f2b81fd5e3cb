/// Parses a size such as `5GB`, `500MB`, `2GiB`, `1.5GB` or `1000` into bytes.
///
/// Decimal units follow huggingface_hub `parse_size_to_int` (`KB` = 10³, `MB` = 10⁶, `GB` = 10⁹, `TB` = 10¹²,
/// so `5GB` is the HF default shard size 5,000,000,000); binary units `KiB`/`MiB`/`GiB`/`TiB` are powers of
/// 1024. Units are case-insensitive and may follow a space; a bare number (or `B`) is bytes. A fractional
/// value is truncated to whole bytes, as Python's `int(value * multiplier)` does. The result must be
/// positive.
public func parseByteSize(_ text: String) throws -> Int {
    let s = text.trimmingWhitespace()
    func fail(_ reason: String) -> SafeTensorsError { .invalidByteSize(text: text, reason: reason) }

    let numberPart = s.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
    let unit = s.dropFirst(numberPart.count).trimmingWhitespace().uppercased()
    let multiplier: Int
    switch unit {
    case "", "B": multiplier = 1
    case "KB": multiplier = 1_000
    case "MB": multiplier = 1_000_000
    case "GB": multiplier = 1_000_000_000
    case "TB": multiplier = 1_000_000_000_000
    case "KIB": multiplier = 1 << 10
    case "MIB": multiplier = 1 << 20
    case "GIB": multiplier = 1 << 30
    case "TIB": multiplier = 1 << 40
    default: throw fail("unknown unit '\(unit)'")
    }

    let pieces = numberPart.split(separator: ".", omittingEmptySubsequences: false)
    guard !numberPart.isEmpty, pieces.count <= 2, !pieces[0].isEmpty || (pieces.count == 2 && !pieces[1].isEmpty) else {
        throw fail("no number")
    }
    // Exact integer arithmetic: whole × multiplier + fraction × multiplier / 10^digits.
    var result = 0
    for c in pieces[0] {
        let (m, o1) = result.multipliedReportingOverflow(by: 10)
        let (a, o2) = m.addingReportingOverflow(Int(c.asciiValue! - 48))
        if o1 || o2 { throw fail("too large") }
        result = a
    }
    let (scaled, overflow) = result.multipliedReportingOverflow(by: multiplier)
    if overflow { throw fail("too large") }
    result = scaled
    if pieces.count == 2 {
        var numerator = 0
        var denominator = 1
        for c in pieces[1] {
            // Digits beyond what can change a byte count are irrelevant; stop before overflowing.
            if denominator > Int.max / 10 / max(multiplier, 1) / 10 { break }
            numerator = numerator * 10 + Int(c.asciiValue! - 48)
            denominator *= 10
        }
        let (sum, o) = result.addingReportingOverflow(numerator * multiplier / denominator)
        if o { throw fail("too large") }
        result = sum
    }
    guard result > 0 else { throw fail("must be positive") }
    return result
}

extension StringProtocol {
    fileprivate func trimmingWhitespace() -> String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
