import Foundation
import StrictJSON

/// Typed reads from a parsed `config.json` or `adapter_config.json`, under the project's one rule for
/// JSON types (``JSONField``). A key that is absent (or null) is *missing*; a key that is present with the
/// wrong type is a *bad value*, never silently taken as missing or replaced by a default.
struct ConfigReader {
    let json: [String: Any]
    let file: String
    /// Prefix of the keys in messages (`rope_scaling.` for a nested object).
    var keyPrefix = ""

    /// A required positive integer.
    func int(_ key: String, hint: String = "Hugging Face LlamaForCausalLM configs always have it.") throws -> Int {
        guard let v = try optionalInt(key) else { throw LlamaError.missingKey(file: file, key: keyPrefix + key, hint: hint) }
        return v
    }

    /// A positive integer, or nil when absent.
    func optionalInt(_ key: String) throws -> Int? {
        guard let raw = present(key) else { return nil }
        guard let n = JSONField.integer(raw), n > 0 else {
            throw LlamaError.badValue(file: file, key: keyPrefix + key, reason: "expected a positive integer, found \(describe(raw))")
        }
        return n
    }

    /// A non-negative integer (a token id), or nil when absent.
    func optionalID(_ key: String) throws -> Int? {
        guard let raw = present(key) else { return nil }
        guard let n = JSONField.integer(raw), n >= 0 else {
            throw LlamaError.badValue(file: file, key: keyPrefix + key, reason: "expected a token id (an integer ≥ 0), found \(describe(raw))")
        }
        return n
    }

    /// A number, or nil when absent.
    func optionalNumber(_ key: String) throws -> Double? {
        guard let raw = present(key) else { return nil }
        guard let n = JSONField.number(raw) else {
            throw LlamaError.badValue(file: file, key: keyPrefix + key, reason: "expected a number, found \(describe(raw))")
        }
        return n
    }

    /// `true` or `false`, or `fallback` when absent.
    func bool(_ key: String, default fallback: Bool) throws -> Bool {
        guard let raw = present(key) else { return fallback }
        guard let b = JSONField.boolean(raw) else {
            throw LlamaError.badValue(file: file, key: keyPrefix + key, reason: "expected true or false, found \(describe(raw))")
        }
        return b
    }

    /// A string, or nil when absent.
    func optionalString(_ key: String) throws -> String? {
        guard let raw = present(key) else { return nil }
        guard let s = raw as? String else {
            throw LlamaError.badValue(file: file, key: keyPrefix + key, reason: "expected a string, found \(describe(raw))")
        }
        return s
    }

    /// The nested object at `key`, or nil when absent.
    func optionalObject(_ key: String) throws -> ConfigReader? {
        guard let raw = present(key) else { return nil }
        guard let o = raw as? [String: Any] else {
            throw LlamaError.badValue(file: file, key: keyPrefix + key, reason: "expected an object {…}, found \(describe(raw))")
        }
        return ConfigReader(json: o, file: file, keyPrefix: keyPrefix + key + ".")
    }

    private func present(_ key: String) -> Any? { JSONField.isMissing(json[key]) ? nil : json[key] }

    private func describe(_ v: Any) -> String {
        if let b = JSONField.boolean(v) { return b ? "true" : "false" }
        if let s = v as? String { return "\"\(s)\"" }
        if v is [Any] { return "a list" }
        if v is [String: Any] { return "an object" }
        return "\(v)"
    }
}
