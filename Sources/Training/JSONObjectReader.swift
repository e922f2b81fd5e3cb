import Foundation
import StrictJSON

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
            let hint = spellingSuggestion(for: k, among: known).map { " (did you mean \"\(key($0))\"?)" } ?? ""
            throw RecipeError(file: file, key: key(k), "is not a recipe key\(hint); known keys here: \(known.joined(separator: ", "))")
        }
    }

    func isNull(_ k: String) -> Bool { JSONField.isMissing(object[k]) }

    func string(_ k: String, default def: String) throws -> String { try optionalString(k) ?? def }

    func optionalString(_ k: String) throws -> String? {
        if isNull(k) { return nil }
        guard let s = object[k] as? String else { throw error(k, "expected a string, found \(describe(object[k]!))") }
        return s
    }

    func bool(_ k: String, default def: Bool) throws -> Bool {
        if isNull(k) { return def }
        guard let b = JSONField.boolean(object[k]) else {
            throw error(k, "expected true or false, found \(describe(object[k]!))")
        }
        return b
    }

    func int(_ k: String, default def: Int, min lo: Int? = nil) throws -> Int { try optionalInt(k, min: lo) ?? def }

    func optionalInt(_ k: String, min lo: Int? = nil) throws -> Int? {
        if isNull(k) { return nil }
        guard let n = JSONField.integer(object[k]) else {
            throw error(k, "expected an integer, found \(describe(object[k]!))")
        }
        if let lo, n < lo { throw error(k, "must be ≥ \(lo), found \(n)") }
        return n
    }

    func double(_ k: String, default def: Double, range: ClosedRange<Double>? = nil) throws -> Double {
        try optionalDouble(k, range: range) ?? def
    }

    func optionalDouble(_ k: String, range: ClosedRange<Double>? = nil) throws -> Double? {
        if isNull(k) { return nil }
        guard let n = JSONField.number(object[k]) else {
            throw error(k, "expected a number, found \(describe(object[k]!))")
        }
        if let range, !range.contains(n) {
            throw error(k, "must be in [\(range.lowerBound), \(range.upperBound)], found \(n)")
        }
        return n
    }

    func choice<T: RawRepresentable>(_ k: String, default def: T, _ type: T.Type, allowed: [T]) throws -> T where T.RawValue == String {
        guard let s = try optionalString(k) else { return def }
        guard let v = T(rawValue: s), allowed.contains(where: { $0.rawValue == v.rawValue }) else {
            let names = allowed.map(\.rawValue)
            let hint = spellingSuggestion(for: s, among: names).map { " (did you mean \"\($0)\"?)" } ?? ""
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
        guard let list = object[k] as? [Any], case let numbers = list.compactMap(JSONField.number), numbers.count == list.count else {
            throw error(k, "expected a list of numbers, found \(describe(object[k]!))")
        }
        return numbers
    }

    func section(_ k: String) throws -> JSONObjectReader {
        if isNull(k) { return JSONObjectReader([:], file: file, path: key(k)) }
        guard let o = object[k] as? [String: Any] else { throw error(k, "expected an object {…}, found \(describe(object[k]!))") }
        return JSONObjectReader(o, file: file, path: key(k))
    }
}

private func describe(_ v: Any) -> String {
    if let s = v as? String { return "\"\(s)\"" }
    if let b = JSONField.boolean(v) { return b ? "true" : "false" }  // not "1"
    if v is [Any] { return "a list" }
    if v is [String: Any] { return "an object" }
    return "\(v)"
}
