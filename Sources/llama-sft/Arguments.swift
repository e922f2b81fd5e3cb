import Foundation
import Training

/// A usage error: printed with the subcommand's usage, exit code 2.
struct UsageError: LocalizedError, CustomStringConvertible {
    let message: String
    init(_ message: String) { self.message = message }
    var errorDescription: String? { message }
    var description: String { message }
}

/// Minimal `--flag value` / `--switch` / positional parser shared by every subcommand.
/// Unknown flags are errors (with a "did you mean" hint), never ignored.
struct Arguments {
    private(set) var positionals: [String] = []
    private var values: [String: String] = [:]
    private var switches: Set<String> = []

    /// - Parameters:
    ///   - valued: flags that take a value (`--out DIR`); `--out=DIR` also works.
    ///   - switches: flags without a value.
    init(_ args: [String], valued: Set<String>, switches known: Set<String>) throws {
        var i = 0
        while i < args.count {
            let a = args[i]
            if a.hasPrefix("--") && a.count > 2 {
                var name = String(a.dropFirst(2))
                var inline: String?
                if let eq = name.firstIndex(of: "=") {
                    inline = String(name[name.index(after: eq)...])
                    name = String(name[..<eq])
                }
                if valued.contains(name) {
                    if let inline { values[name] = inline } else {
                        guard i + 1 < args.count else { throw UsageError("--\(name) needs a value") }
                        values[name] = args[i + 1]
                        i += 1
                    }
                } else if known.contains(name) {
                    guard inline == nil else { throw UsageError("--\(name) takes no value") }
                    switches.insert(name)
                } else {
                    let hint = closestMatch(name, in: valued.union(known)).map { " (did you mean --\($0)?)" } ?? ""
                    throw UsageError("unknown option --\(name)\(hint)")
                }
            } else {
                positionals.append(a)
            }
            i += 1
        }
    }

    func value(_ name: String) -> String? { values[name] }
    func flag(_ name: String) -> Bool { switches.contains(name) }

    func required(_ name: String) throws -> String {
        guard let v = values[name] else { throw UsageError("missing --\(name)") }
        return v
    }

    func int(_ name: String, default def: Int) throws -> Int {
        guard let s = values[name] else { return def }
        guard let v = Int(s) else { throw UsageError("--\(name) expects an integer, got '\(s)'") }
        return v
    }

    /// An integer flag that must lie in `range` (say a seed ≥ 0, or a size the machine can hold):
    /// out-of-range values are usage errors, never a trap further down.
    func int(_ name: String, default def: Int, in range: ClosedRange<Int>) throws -> Int {
        let v = try int(name, default: def)
        guard range.contains(v) else {
            let bound = range.upperBound == Int.max ? "at least \(range.lowerBound)" : "between \(range.lowerBound) and \(range.upperBound)"
            throw UsageError("--\(name) must be \(bound), got \(v)")
        }
        return v
    }

    func double(_ name: String, default def: Double) throws -> Double {
        guard let s = values[name] else { return def }
        guard let v = Double(s) else { throw UsageError("--\(name) expects a number, got '\(s)'") }
        return v
    }
}

/// The closest candidate, if it is close enough to be a plausible typo (Training's `spellingSuggestion`).
func closestMatch(_ word: String, in candidates: Set<String>) -> String? {
    spellingSuggestion(for: word, among: candidates.sorted())
}

/// Writes to standard error.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
