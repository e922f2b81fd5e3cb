import Foundation
import Tokenizer
import Training

/// `llama-sft tokenize --tokenizer PATH [--input FILE.jsonl]`: text → token ids, for inspection and for
/// checking parity with other tokenizers (the ids match tiktoken's `encode_ordinary` with Meta's
/// tokenizer.model, and HF `encode(add_special_tokens=False)` on text without special-token strings).
enum TokenizeCommand {
    static let usage = """
    usage: llama-sft tokenize --tokenizer PATH [--input FILE.jsonl]

    Encodes plain text: no BOS/EOS is added and special-token strings such as <|eot_id|> are ordinary text.
      --tokenizer PATH   model directory (tokenizer.json preferred, else tokenizer.model) or either file
      --input FILE       JSON Lines, one {"text": "..."} object per line; writes one {"ids":[...]} line
                         per input line (blank lines are skipped). Without --input, all of standard
                         input is read as ONE text and one {"ids":[...]} line is written.
    """

    /// A problem with the input text, naming the file and line.
    struct InputError: LocalizedError, CustomStringConvertible {
        let message: String
        var errorDescription: String? { message }
        var description: String { message }
    }

    static func run(_ args: [String]) throws -> Int32 {
        if args.contains("--help") || args.contains("-h") {
            print(usage)
            return 0
        }
        let arguments = try Arguments(args, valued: ["tokenizer", "input"], switches: [])
        if let extra = arguments.positionals.first { throw UsageError("unexpected argument '\(extra)'\n\n\(usage)") }
        let tokenizerPath = try arguments.required("tokenizer")
        let tokenizer = try ModelTokenizer.load(path: tokenizerPath)
        let output = BufferedOutput()
        defer { output.flush() }   // lines encoded before an error are still written
        if let input = arguments.value("input") {
            try encodeLines(of: input, with: tokenizer, to: output)
        } else {
            let data = FileHandle.standardInput.readDataToEndOfFile()
            guard let text = String(data: data, encoding: .utf8) else {
                throw InputError(message: "standard input is not valid UTF-8 text")
            }
            output.writeIDs(tokenizer.encode(text))
        }
        return 0
    }

    /// One `{"text": ...}` object per line → one `{"ids": [...]}` line.
    private static func encodeLines(of path: String, with tokenizer: Tokenizer, to output: BufferedOutput) throws {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw InputError(message: "\(path): cannot read the input file: \(error.localizedDescription)")
        }
        var lineNumber = 0
        var start = data.startIndex
        while start < data.endIndex {
            lineNumber += 1
            let end = data[start...].firstIndex(of: 0x0A) ?? data.endIndex
            let line = data[start..<end]
            start = end < data.endIndex ? end + 1 : end
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            let object: Any
            do {
                object = try JSONSerialization.jsonObject(with: line)
            } catch {
                throw InputError(message: "\(path):\(lineNumber): not valid JSON (\(error.localizedDescription)); expected {\"text\": \"...\"}")
            }
            guard let record = object as? [String: Any], let text = record["text"] as? String else {
                throw InputError(message: "\(path):\(lineNumber): expected a JSON object with a string \"text\" field")
            }
            output.writeIDs(tokenizer.encode(text))
        }
    }

    /// Collects output bytes and writes them to stdout in large blocks.
    private final class BufferedOutput {
        private var buffer: [UInt8] = []

        func writeIDs(_ ids: [Int]) {
            buffer.append(contentsOf: #"{"ids":["#.utf8)
            for (index, id) in ids.enumerated() {
                if index > 0 { buffer.append(UInt8(ascii: ",")) }
                buffer.append(contentsOf: String(id).utf8)
            }
            buffer.append(contentsOf: "]}\n".utf8)
            if buffer.count >= 1 << 20 { flush() }
        }

        func flush() {
            guard !buffer.isEmpty else { return }
            FileHandle.standardOutput.write(Data(buffer))
            buffer.removeAll(keepingCapacity: true)
        }
    }
}
