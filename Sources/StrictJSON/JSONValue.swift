import Foundation

/// A JSON value as ``JSONParser`` reads it: object entries in file order, numbers as their source text.
///
/// Why not `JSONSerialization`'s `Any`: it silently keeps the last of duplicate keys, loses key order,
/// and turns `2`, `2.0` and `true` alike into `NSNumber`, so "must be an integer" cannot be checked
/// exactly. See docs/architecture.md ("JSON").
public enum JSONValue: Sendable {
    case object([(key: String, value: JSONValue)])
    case array([JSONValue])
    case string(String)
    /// The number's literal text, already checked against the JSON number grammar.
    case number(String)
    case bool(Bool)
    case null

    /// The value as a non-negative `Int` if it is a plain integer literal (no fraction or exponent)
    /// that fits; otherwise `nil`. `-0` is accepted as 0.
    public var nonNegativeInt: Int? {
        guard case let .number(text) = self else { return nil }
        var digits = Substring(text)
        if digits.hasPrefix("-") {
            digits = digits.dropFirst()
            guard digits.allSatisfy({ $0 == "0" }) else { return nil }
        }
        var n = 0
        for c in digits.utf8 {
            guard c >= 0x30, c <= 0x39 else { return nil }
            let (m, o1) = n.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(Int(c - 0x30))
            if o1 || o2 { return nil }
            n = s
        }
        return n
    }

    /// A short name of the value's kind, for error messages.
    public var kindName: String {
        switch self {
        case .object: return "an object"
        case .array: return "an array"
        case .string: return "a string"
        case .number(let t): return "the number \(t)"
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        }
    }
}

extension JSONValue {
    /// The value as `JSONSerialization` would give it (`[String: Any]`, `[Any]`, `String`, `NSNumber`,
    /// `NSNull`), for readers written against Foundation types. Booleans become `NSNumber(value: Bool)`,
    /// which ``JSONField`` tells apart from numbers; integer literals that fit stay exact `Int`s.
    public var foundationValue: Any {
        switch self {
        case .object(let entries):
            var out: [String: Any] = [:]
            for (key, value) in entries { out[key] = value.foundationValue }
            return out
        case .array(let items): return items.map(\.foundationValue)
        case .string(let s): return s
        case .number(let text):
            if let n = Int(text) { return NSNumber(value: n) }
            return NSNumber(value: Double(text) ?? .nan)
        case .bool(let b): return NSNumber(value: b)
        case .null: return NSNull()
        }
    }
}
