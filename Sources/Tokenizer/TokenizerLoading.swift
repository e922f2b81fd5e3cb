import Foundation

extension Tokenizer {
    /// Loads a tokenizer.
    ///
    /// - Parameter path: a model directory (uses `tokenizer.json` if present, else `tokenizer.model`), or
    ///   the path of either file. A file is read as tokenizer.json if its name ends in `.json` or it starts
    ///   with `{`; otherwise as a tiktoken file.
    /// - Throws: `TokenizerError` naming the file and what is wrong or unsupported.
    public static func load(path: String) throws -> Tokenizer {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDirectory) else { throw TokenizerError.fileNotFound(path: path) }
        if isDirectory.boolValue {
            let directory = URL(fileURLWithPath: path)
            for name in ["tokenizer.json", "tokenizer.model"] {
                let file = directory.appendingPathComponent(name).path
                var fileIsDirectory: ObjCBool = false
                if fm.fileExists(atPath: file, isDirectory: &fileIsDirectory), !fileIsDirectory.boolValue {
                    return try load(path: file)
                }
            }
            throw TokenizerError.noTokenizerInDirectory(directory: path)
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw TokenizerError.unreadable(path: path, reason: error.localizedDescription)
        }
        let firstNonSpace = data.first { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }
        if path.hasSuffix(".json") || firstNonSpace == UInt8(ascii: "{") {
            return try TokenizerJSONLoader.load(data: data, path: path)
        }
        return try TiktokenLoader.load(data: data, path: path)
    }
}
