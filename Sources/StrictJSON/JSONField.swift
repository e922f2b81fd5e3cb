import Foundation

/// The one rule for reading typed values out of parsed JSON (`JSONSerialization` results or
/// ``JSONValue/foundationValue``), used by every reader of config, adapter, tokenizer, recipe and
/// dataset files:
///
/// - a boolean is only `true` or `false`: the number 1 is not a boolean, and `true` is not a number;
/// - a number is finite;
/// - an integer is a number with an integral value whose magnitude is below 2⁵³ (so it is exact);
///   `2.0` counts, since `JSONSerialization` cannot tell it from `2`.
///
/// Each reader adds its own ranges and its own error wording (file, key, hint).
public enum JSONField {
    /// Whether `n` came from a JSON `true`/`false` (Foundation represents both kinds as `NSNumber`; a
    /// boolean's Objective-C type is "c", which no JSON number gets).
    public static func isBoolean(_ n: NSNumber) -> Bool {
        String(cString: n.objCType) == "c" || type(of: n) == type(of: NSNumber(value: true))
    }

    public static func boolean(_ value: Any?) -> Bool? {
        guard let n = value as? NSNumber, isBoolean(n) else { return nil }
        return n.boolValue
    }

    public static func number(_ value: Any?) -> Double? {
        guard let n = value as? NSNumber, !isBoolean(n), n.doubleValue.isFinite else { return nil }
        return n.doubleValue
    }

    public static func integer(_ value: Any?) -> Int? {
        guard let d = number(value), d == d.rounded(), abs(d) < 9_007_199_254_740_992 else { return nil }
        if let n = value as? NSNumber, let exact = Int(exactly: n.int64Value), Double(exact) == d { return exact }
        return Int(d)
    }

    /// Whether the key is absent or JSON `null`.
    public static func isMissing(_ value: Any?) -> Bool { value == nil || value is NSNull }
}
