import Foundation
import XCTest

/// The rule that keeps pullbacks safe from buffer reuse: a pullback reaches memory only through
/// `Tensor`s and `Variable`s it holds, never through a raw pointer taken in the forward pass. Freed
/// tensors return their buffers to the pool and the next tensor of a similar size gets them, so a
/// pointer captured from forward code is valid only as long as something else happens to keep its
/// tensor alive. This test reads every op's source and fails when a `record { … }` closure uses a
/// name that the forward code bound to a pointer (`.data`, `SendablePointer(…)`, `baseAddress`);
/// `SavedActivationTests` then checks the behaviour under pool churn.
final class PullbackCaptureTests: XCTestCase {
    static let autodiffSources = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources/Autodiff")

    func testNoPullbackCapturesAPointerFromTheForwardPass() throws {
        let fm = FileManager.default
        let ops = try fm.contentsOfDirectory(atPath: Self.autodiffSources.appendingPathComponent("Ops").path)
            .filter { $0.hasSuffix(".swift") }.map { "Ops/" + $0 } + ["Recompute.swift"]
        XCTAssertGreaterThan(ops.count, 5, "the op sources were not found")
        var checked = 0
        for file in ops {
            let text = try String(contentsOf: Self.autodiffSources.appendingPathComponent(file), encoding: .utf8)
            for violation in Self.violations(in: text, checked: &checked) {
                XCTFail("\(file): the pullback recorded at line \(violation.line) uses \"\(violation.name)\", a pointer taken in the forward pass; take it from a tensor inside the pullback")
            }
        }
        XCTAssertGreaterThan(checked, 8, "too few pullbacks found: is the scan still matching `record(`?")
    }

    /// The scan itself must catch the pattern it exists for.
    func testTheScanCatchesACapturedPointer() {
        let bad = """
        func op(x: Variable) -> Variable {
            let xp = x.value.data, n = x.value.count
            let out = Variable(Tensor(uninitialized: x.shape))
            record(out) { dy in use(xp, n) }
            return out
        }
        """
        let good = """
        func op(x: Variable) -> Variable {
            let xp = x.value.data
            record(out) { [x] dy in let xp = x.value.data; use(xp) }
        }
        """
        var checked = 0
        XCTAssertEqual(Self.violations(in: bad, checked: &checked).map(\.name), ["xp"])
        XCTAssertEqual(Self.violations(in: good, checked: &checked).map(\.name), [])
    }

    struct Violation { let line: Int; let name: String }

    static func violations(in text: String, checked: inout Int) -> [Violation] {
        let chars = Array(text)
        var out: [Violation] = []
        var searchFrom = text.startIndex
        while let r = text.range(of: "record(", range: searchFrom..<text.endIndex) {
            searchFrom = r.upperBound
            let start = text.distance(from: text.startIndex, to: r.lowerBound)
            // The enclosing function's code before the record call.
            let before = String(chars[0..<start])
            guard let funcStart = before.range(of: "func ", options: .backwards) else { continue }
            let forward = String(before[funcStart.lowerBound...])
            // The closure: from the first "{" after `record(` to its matching "}".
            guard let open = chars[start...].firstIndex(of: "{") else { continue }
            var depth = 0, end = open
            for i in open..<chars.count {
                if chars[i] == "{" { depth += 1 } else if chars[i] == "}" { depth -= 1; if depth == 0 { end = i; break } }
            }
            let body = String(chars[open...end])
            checked += 1
            let line = before.filter { $0 == "\n" }.count + 1
            for name in pointerNames(in: forward).sorted() where uses(name, in: body) {
                out.append(Violation(line: line, name: name))
            }
        }
        return out
    }

    /// Names bound by `let`/`var` declarations whose value is a pointer expression.
    static func pointerNames(in code: String) -> Set<String> {
        var names = Set<String>()
        for rawLine in code.split(separator: "\n") {
            var line = rawLine.trimmingCharacters(in: .whitespaces)
            guard line.hasPrefix("let ") || line.hasPrefix("var ") else { continue }
            line.removeFirst(4)
            for binding in splitTopLevel(line) {
                let parts = binding.split(separator: "=", maxSplits: 1)
                guard parts.count == 2 else { continue }
                let name = parts[0].split(separator: ":")[0].trimmingCharacters(in: .whitespaces)
                let value = String(parts[1])
                let isPointer = value.range(of: #"\.data\b"#, options: .regularExpression) != nil
                    || value.contains("SendablePointer(") || value.contains("baseAddress")
                if isPointer, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) { names.insert(name) }
            }
        }
        return names
    }

    /// Splits `a = f(x, y), b = g` at commas outside brackets.
    static func splitTopLevel(_ s: String) -> [String] {
        var parts: [String] = [], current = "", depth = 0
        for c in s {
            if "([{".contains(c) { depth += 1 } else if ")]}".contains(c) { depth -= 1 }
            if c == ",", depth == 0 { parts.append(current); current = "" } else { current.append(c) }
        }
        parts.append(current)
        return parts
    }

    /// Whether `body` reads `name` without declaring its own `name` first.
    static func uses(_ name: String, in body: String) -> Bool {
        let word = "\\b" + NSRegularExpression.escapedPattern(for: name) + "\\b"
        guard body.range(of: word, options: .regularExpression) != nil else { return false }
        let redeclared = body.range(of: "(let|var)\\s+" + NSRegularExpression.escapedPattern(for: name) + "\\b", options: .regularExpression) != nil
            || body.range(of: ",\\s*" + NSRegularExpression.escapedPattern(for: name) + "\\s*=", options: .regularExpression) != nil
        return !redeclared
    }
}
