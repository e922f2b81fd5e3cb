import Foundation

/// Reads one JSON object of a recipe strictly: every key must be known (an unknown key is an error
/// with a "did you mean" hint), every value must have the expected type and range.
struct JSONObjectReader {
    let object: [String: Any]
    let file: String
    let path: String  // dotted prefix, "" at the top level

    init(_ object: [String: Any], file: String, path: String = "") {
        self.object = object
        self.file = file
        self.path = path
    }

    func key(_ k: String) -> String { path.isEmpty ? k : "\(path).\(k)" }

    func error(_ k: String, _ message: String) -> RecipeError { RecipeError(file: file, key: key(k), message) }

    /// Fails on the first key that is not in `known`.
    func rejectUnknownKeys(_ known: [String]) throws {
        for k in object.keys.sorted() where !known.contains(k) {
            let hint = closest(k, known).map { " (did you mean \"\(key($0))\"?)" } ?? ""
            throw RecipeError(file: file, key: key(k), "is not a recipe key\(hint); known keys here: \(known.joined(separator: ", "))")
        }
    }

    func isNull(_ k: String) -> Bool { object[k] == nil || object[k] is NSNull }

    func string(_ k: String, default def: String) throws -> String { try optionalString(k) ?? def }

    func optionalString(_ k: String) throws -> String? {
        if isNull(k) { return nil }
        guard let s = object[k] as? String else { throw error(k, "expected a string, found \(describe(object[k]!))") }
        return s
    }

    func bool(_ k: String, default def: Bool) throws -> Bool {
        if isNull(k) { return def }
        guard let n = object[k] as? NSNumber, isBoolean(n) else {
            throw error(k, "expected true or false, found \(describe(object[k]!))")
        }
        return n.boolValue
    }

    func int(_ k: String, default def: Int, min lo: Int? = nil) throws -> Int { try optionalInt(k, min: lo) ?? def }

    func optionalInt(_ k: String, min lo: Int? = nil) throws -> Int? {
        if isNull(k) { return nil }
        guard let n = object[k] as? NSNumber, !isBoolean(n), n.doubleValue == n.doubleValue.rounded(), abs(n.doubleValue) < 1e15 else {
            throw error(k, "expected an integer, found \(describe(object[k]!))")
        }
        if let lo, n.intValue < lo { throw error(k, "must be ≥ \(lo), found \(n.intValue)") }
        return n.intValue
    }

    func double(_ k: String, default def: Double, range: ClosedRange<Double>? = nil) throws -> Double {
        try optionalDouble(k, range: range) ?? def
    }

    func optionalDouble(_ k: String, range: ClosedRange<Double>? = nil) throws -> Double? {
        if isNull(k) { return nil }
        guard let n = object[k] as? NSNumber, !isBoolean(n), n.doubleValue.isFinite else {
            throw error(k, "expected a number, found \(describe(object[k]!))")
        }
        if let range, !range.contains(n.doubleValue) {
            throw error(k, "must be in [\(range.lowerBound), \(range.upperBound)], found \(n.doubleValue)")
        }
        return n.doubleValue
    }

    func choice<T: RawRepresentable>(_ k: String, default def: T, _ type: T.Type, allowed: [T]) throws -> T where T.RawValue == String {
        guard let s = try optionalString(k) else { return def }
        guard let v = T(rawValue: s), allowed.contains(where: { $0.rawValue == v.rawValue }) else {
            let names = allowed.map(\.rawValue)
            let hint = closest(s, names).map { " (did you mean \"\($0)\"?)" } ?? ""
            throw error(k, "\"\(s)\" is not one of \(names.map { "\"\($0)\"" }.joined(separator: ", "))\(hint)")
        }
        return v
    }

    func stringList(_ k: String) throws -> [String]? {
        if isNull(k) { return nil }
        guard let list = object[k] as? [Any], list.allSatisfy({ $0 is String }) else {
            throw error(k, "expected a list of strings, found \(describe(object[k]!))")
        }
        return list as? [String]
    }

    func doubleList(_ k: String) throws -> [Double]? {
        if isNull(k) { return nil }
        guard let list = object[k] as? [Any], list.allSatisfy({ ($0 as? NSNumber).map { !isBoolean($0) } ?? false }) else {
            throw error(k, "expected a list of numbers, found \(describe(object[k]!))")
        }
        return list.map { ($0 as! NSNumber).doubleValue }
    }

    func section(_ k: String) throws -> JSONObjectReader {
        if isNull(k) { return JSONObjectReader([:], file: file, path: key(k)) }
        guard let o = object[k] as? [String: Any] else { throw error(k, "expected an object {…}, found \(describe(object[k]!))") }
        return JSONObjectReader(o, file: file, path: key(k))
    }
}

private func isBoolean(_ n: NSNumber) -> Bool {
    // JSONSerialization gives booleans as NSNumber; on Linux their objCType is "c".
    String(cString: n.objCType) == "c" || type(of: n) == type(of: NSNumber(value: true))
}

private func describe(_ v: Any) -> String {
    if let s = v as? String { return "\"\(s)\"" }
    if let n = v as? NSNumber, isBoolean(n) { return n.boolValue ? "true" : "false" }  // not "1"
    if v is [Any] { return "a list" }
    if v is [String: Any] { return "an object" }
    return "\(v)"
}

/// The closest candidate within a small edit distance (a plausible typo), for "did you mean" hints in
/// recipe errors and on the command line.
public func closest(_ word: String, _ candidates: [String]) -> String? {
    func distance(_ a: String, _ b: String) -> Int {
        let x = Array(a.lowercased()), y = Array(b.lowercased())
        if x.isEmpty || y.isEmpty { return max(x.count, y.count) }
        var prev = Array(0...y.count), cur = prev
        for i in 1...x.count {
            cur[0] = i
            for j in 1...y.count { cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1)) }
            swap(&prev, &cur)
        }
        return prev[y.count]
    }
    let scored = candidates.map { ($0, distance(word, $0)) }.filter { $0.1 <= max(2, $0.0.count / 3) }
    return scored.min { $0.1 < $1.1 }?.0
}
