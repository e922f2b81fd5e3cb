import Foundation

/// A small self-contained SVG of the loss curves (train in blue, eval in orange).
public enum LossCurve {
    public static func svg(train: [(Int, Double)], eval: [(Int, Double)], title: String) -> String {
        let w = 640.0, h = 360.0, left = 56.0, right = 16.0, top = 32.0, bottom = 40.0
        let all = train + eval
        guard let maxStep = all.map(\.0).max(), let lo = all.map(\.1).min(), let hi = all.map(\.1).max() else {
            return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\"></svg>\n"
        }
        let span = max(hi - lo, 1e-6)
        func x(_ s: Int) -> Double { left + (w - left - right) * Double(s) / Double(max(maxStep, 1)) }
        func y(_ v: Double) -> Double { top + (h - top - bottom) * (1 - (v - lo) / span) }
        func path(_ pts: [(Int, Double)]) -> String {
            pts.enumerated().map { i, p in String(format: "%@%.1f,%.1f", i == 0 ? "M" : "L", x(p.0), y(p.1)) }.joined(separator: " ")
        }
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\" font-family=\"sans-serif\" font-size=\"12\">\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        s += "<text x=\"\(left)\" y=\"20\">\(escape(title))</text>\n"
        s += String(format: "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#888\"/>\n", left, h - bottom, w - right, h - bottom)
        s += String(format: "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#888\"/>\n", left, top, left, h - bottom)
        for k in 0...4 {
            let v = lo + span * Double(k) / 4
            s += String(format: "<text x=\"4\" y=\"%.1f\">%.3f</text>\n", y(v) + 4, v)
        }
        s += String(format: "<text x=\"%.0f\" y=\"%.0f\">step %d</text>\n", w - right - 60, h - 12, maxStep)
        if !train.isEmpty { s += "<path d=\"\(path(train))\" fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\"/>\n" }
        if !eval.isEmpty { s += "<path d=\"\(path(eval))\" fill=\"none\" stroke=\"#ff7f0e\" stroke-width=\"2\"/>\n" }
        s += "<text x=\"\(w - 150)\" y=\"20\" fill=\"#1f77b4\">train loss</text><text x=\"\(w - 70)\" y=\"20\" fill=\"#ff7f0e\">eval loss</text>\n"
        return s + "</svg>\n"
    }

    static func escape(_ t: String) -> String {
        t.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
