extension Int {
    /// The number with a comma between groups of three digits (1,234,567), as the terminal lines show
    /// counts. A property of its own name, so it does not shadow Foundation's `formatted()`.
    var digitsGrouped: String {
        let s = String(self)
        var out = ""
        for (i, ch) in s.reversed().enumerated() {
            if i > 0 && i % 3 == 0 && ch != "-" { out.append(",") }
            out.append(ch)
        }
        return String(out.reversed())
    }
}
