import ChatData
import Foundation
import Llama
import SafeTensors
import Tokenizer
import Training

/// libFuzzer driver: one binary, the target chosen by `LLAMA_SFT_FUZZ_TARGET` (see Fuzz/README.md).
/// Every target feeds the bytes to a reader of user files exactly as the trainer does; an error thrown
/// is the expected outcome for bad input, a trap or a sanitizer report is a bug.
/// libFuzzer's own driver (command-line flags, corpus, crash files); we give it the input callback.
/// Called from our `main` because SwiftPM executables bring their own.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

enum FuzzTarget: String, CaseIterable {
    case safetensors, tokenizerJSON = "tokenizer-json", tiktoken, recipe, dataset, config, adapterConfig = "adapter-config"
}

/// A private scratch folder for the readers that take a path (they map or read the file themselves).
let scratch: String = {
    let dir = NSTemporaryDirectory() + "llama-sft-fuzz-\(getpid())"
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}()

let target: FuzzTarget = {
    let name = ProcessInfo.processInfo.environment["LLAMA_SFT_FUZZ_TARGET"] ?? ""
    guard let t = FuzzTarget(rawValue: name) else {
        FileHandle.standardError.write(Data("set LLAMA_SFT_FUZZ_TARGET to one of \(FuzzTarget.allCases.map(\.rawValue))\n".utf8))
        exit(2)
    }
    return t
}()

/// A tiny model shape for the adapter reader to check shapes against.
let adapterModel = LlamaConfig(vocabSize: 64, hiddenSize: 16, intermediateSize: 32, numLayers: 2, numHeads: 4, numKVHeads: 2,
                               headDim: 4, rmsNormEps: 1e-5, ropeTheta: 10000, tieWordEmbeddings: false)

func write(_ bytes: UnsafeRawBufferPointer, _ name: String) -> String {
    let path = scratch + "/" + name
    FileManager.default.createFile(atPath: path, contents: Data(bytes))
    return path
}

func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    switch target {
    case .safetensors:
        // Header and data: every tensor the header declares is read and widened to fp32.
        guard let file = try? SafeTensorsFile(path: write(bytes, "fuzz.safetensors")) else { return 0 }
        for name in file.names { _ = try? file.float32Array(name) }
    case .tokenizerJSON:
        if let t = try? Tokenizer.load(path: write(bytes, "tokenizer.json")) { _ = t.decode(t.encode("Hello, world! 123 héllo")) }
    case .tiktoken:
        if let t = try? Tokenizer.load(path: write(bytes, "tokenizer.model")) { _ = t.decode(t.encode("Hello, world! 123 héllo")) }
    case .recipe:
        _ = try? Recipe.parse(Data(bytes), file: "fuzz.json", baseDirectory: scratch)
    case .dataset:
        for format in [DatasetFormat.auto, .tokenized] {
            _ = try? DatasetReader.read(bytes: Array(bytes), path: "fuzz.jsonl", format: format, onInvalid: .skip, vocabularySize: 1000)
        }
    case .config:
        if let c = try? LlamaConfig.parse(Data(bytes), file: "config.json") { _ = c.parameterCount }
    case .adapterConfig:
        let dir = scratch + "/adapter"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: dir + "/adapter_config.json", contents: Data(bytes))
        _ = try? PEFTAdapter.load(directory: dir, model: adapterModel)
    }
    return 0
}

/// The entry libFuzzer's own `main` calls (it is linked in when the executable's main is not named
/// `main`, as SwiftPM renames it); our `main` drives the same callback when it is the one that runs.
@_cdecl("LLVMFuzzerTestOneInput")
public func llvmFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt { fuzzOne(data, size) }
