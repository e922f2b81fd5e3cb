import Autodiff
import Foundation
import Llama
import SafeTensors
import Tensors

/// `llama-sft logits`: a parity diagnostic. Runs each input sequence alone through the model (with an
/// optional PEFT adapter) and writes `logits.<i>` `[T, V]` fp32, and `loss.<i>` (mean NLL over its
/// labeled tokens, HF convention) when labels are given.
enum LogitsCommand {
    static let usage = """
    usage: llama-sft logits --model DIR|FILE.gguf [--adapter DIR] --input FILE.json --out FILE.safetensors [--force] [--threads N]

    FILE.json: {"sequences": [[ids…], …], "labels": [[…], …]}
      labels are optional, unshifted, -100 = ignored (as in transformers): logits[t] is scored against labels[t+1].
    """

    static func run(_ args: [String]) throws -> Int32 {
        let a = try Arguments(args, valued: ["model", "adapter", "input", "out", "threads"], switches: ["force"])
        guard a.positionals.isEmpty else { throw UsageError("unexpected argument '\(a.positionals[0])'\n\(usage)") }
        let modelDir = try a.required("model"), inputPath = try a.required("input"), outPath = try a.required("out")
        try OutputFileGuard.check(outPath, flag: "out", force: a.flag("force"),
                                  inputs: [modelDir, inputPath, a.value("adapter")].compactMap { $0 })
        Threads.configure(a.value("threads").flatMap(Int.init))
        let (sequences, labels) = try readInput(inputPath)

        let rssBefore = ProcessMemory.residentMiB
        let model = try LlamaModel.load(directory: modelDir)
        printError(String(format: "loaded %@: resident memory %.0f → %.0f MiB (16-bit weights are memory-mapped, not copied)",
                          modelDir, rssBefore, ProcessMemory.residentMiB))
        if let adapterDir = a.value("adapter") {
            model.adapters = try PEFTAdapter.load(directory: adapterDir, model: model.config).0
        }
        for (i, seq) in sequences.enumerated() {
            if let bad = seq.first(where: { $0 < 0 || $0 >= model.config.vocabSize }) {
                throw ToolError("\(inputPath): sequences[\(i)] has token id \(bad), outside the vocabulary 0..<\(model.config.vocabSize)")
            }
            if let bad = labels?[i].first(where: { $0 != -100 && ($0 < 0 || $0 >= model.config.vocabSize) }) {
                throw ToolError("\(inputPath): labels[\(i)] has \(bad); a label is a token id in 0..<\(model.config.vocabSize), or -100 (ignored)")
            }
            if let limit = model.config.maxPositionEmbeddings, seq.count > limit {
                throw ToolError("\(inputPath): sequences[\(i)] has \(seq.count) tokens, beyond the model's max_position_embeddings \(limit)")
            }
        }
        var tensors: [TensorToWrite] = []
        for (i, seq) in sequences.enumerated() {
            let batch = ModelBatch(sequences: [seq], labels: labels.map { [$0[i]] })
            let tape = Tape(recording: false)
            let hidden = model.forward(batch, tape: tape)
            let logits = model.logits(hidden: hidden.value)
            tensors.append(.float32(name: "logits.\(i)", shape: [seq.count, model.config.vocabSize], data: logits.array))
            if labels != nil {
                let sum = tape.lmHeadCrossEntropy(hidden, weight: model.weights.lmHead, positions: batch.lossPositions, targets: batch.lossTargets)
                let loss = batch.targetCount > 0 ? Float(Double(sum.value[0]) / Double(batch.targetCount)) : .nan
                tensors.append(.float32(name: "loss.\(i)", shape: [], data: [loss]))
                print("sequence \(i): \(seq.count) tokens, \(batch.targetCount) labeled, loss \(loss)")
            } else {
                print("sequence \(i): \(seq.count) tokens")
            }
        }
        try SafeTensorsWriter.write(tensors, to: outPath)
        print("wrote \(outPath)")
        return 0
    }

    static func readInput(_ path: String) throws -> ([[Int]], [[Int]]?) {
        guard let data = FileManager.default.contents(atPath: path) else { throw ToolError("\(path): cannot read the input file") }
        guard let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ToolError("\(path): not a JSON object; expected {\"sequences\": [[ids…], …], \"labels\": [[…], …]}")
        }
        guard let raw = json["sequences"] ?? json["input_ids"] else { throw ToolError("\(path): missing key \"sequences\"") }
        let sequences = try intMatrix(raw, key: "sequences", path: path)
        guard !sequences.isEmpty, sequences.allSatisfy({ !$0.isEmpty }) else { throw ToolError("\(path): \"sequences\" must hold non-empty lists of ids") }
        var labels: [[Int]]?
        if let rawLabels = json["labels"], !(rawLabels is NSNull) {
            let l = try intMatrix(rawLabels, key: "labels", path: path)
            guard l.count == sequences.count else { throw ToolError("\(path): \"labels\" has \(l.count) rows, \"sequences\" \(sequences.count)") }
            for i in l.indices where l[i].count != sequences[i].count {
                throw ToolError("\(path): labels[\(i)] has \(l[i].count) entries, sequences[\(i)] has \(sequences[i].count) (labels are unshifted)")
            }
            labels = l
        }
        return (sequences, labels)
    }

    static func intMatrix(_ raw: Any, key: String, path: String) throws -> [[Int]] {
        guard let rows = raw as? [[Any]] else { throw ToolError("\(path): \"\(key)\" must be a list of lists of integers") }
        return try rows.enumerated().map { i, row in
            try row.enumerated().map { j, v in
                guard let n = v as? NSNumber, n.doubleValue == n.doubleValue.rounded(), abs(n.doubleValue) < 0x1p53 else {
                    throw ToolError("\(path): \(key)[\(i)][\(j)] is not an integer")
                }
                return n.intValue
            }
        }
    }
}
