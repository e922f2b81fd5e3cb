// swift-tools-version:6.0
import Foundation
import PackageDescription

// Debug builds (the default for `swift test`) are far too slow for numeric kernels (docs/architecture.md, Swift performance facts),
// so every target is optimised in debug too. Builds target `haswell` (AVX2 + FMA) on x86_64:
// portable to any x86 CPU since 2013 while giving the SIMD kernels 256-bit registers.
#if arch(x86_64)
let cpuFlags = ["-target-cpu", "haswell"]
#else
let cpuFlags: [String] = []
#endif
let fast: [SwiftSetting] = [
    .unsafeFlags(["-O"] + cpuFlags, .when(configuration: .debug)),
    .unsafeFlags(cpuFlags, .when(configuration: .release)),
]

let package = Package(
    name: "llama-sft",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "llama-sft", targets: ["llama-sft"]),
    ],
    targets: [
        .systemLibrary(
            name: "CBLAS",
            path: "Sources/CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        // Locates ../shared (goldens, tokenizer assets) for the test targets only.
        .target(name: "TestSupport"),
        // cpuid and the AVX512_BF16 micro-kernel (Swift cannot name the instruction); optimised in debug too,
        // with no -march flag: only the kernel functions carry AVX-512 target attributes.
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O2"])]),
        // Deterministic randomness: SplitMix64, counter-based uniforms, seed derivation.
        .target(name: "Seeds", swiftSettings: fast),
        .target(name: "Tensors", dependencies: ["CBLAS", "CKernels"], swiftSettings: fast),
        .target(name: "Autodiff", dependencies: ["Seeds", "Tensors"], swiftSettings: fast),
        // The strict JSON parser and the one rule for typed JSON values, below every reader of JSON files.
        .target(name: "StrictJSON", swiftSettings: fast),
        .target(name: "SafeTensors", dependencies: ["StrictJSON", "Tensors"], swiftSettings: fast),
        // GGUF model files (llama.cpp, Ollama): reader, writer, quant types.
        .target(name: "GGUF", dependencies: ["SafeTensors", "Tensors"], swiftSettings: fast),
        // A training run's directory layout and metrics lines, shared by the trainer and export.
        .target(name: "RunLayout", swiftSettings: fast),
        .target(name: "Tokenizer", dependencies: ["StrictJSON"], swiftSettings: fast),
        .target(name: "ChatData", dependencies: ["Seeds", "StrictJSON", "Tokenizer"], swiftSettings: fast),
        .target(name: "Llama", dependencies: ["RunLayout", "Seeds", "StrictJSON", "Tensors", "Autodiff", "SafeTensors", "GGUF"], swiftSettings: fast),
        // Data-parallel collectives (Open MPI loaded at run time, or the one-process identity).
        .target(name: "Distributed", swiftSettings: fast),
        .target(name: "Training", dependencies: ["RunLayout", "Seeds", "StrictJSON", "Tensors", "Autodiff", "SafeTensors", "GGUF", "Tokenizer", "ChatData", "Llama", "Distributed"], swiftSettings: fast),
        .target(name: "Export", dependencies: ["RunLayout", "StrictJSON", "Tensors", "Autodiff", "SafeTensors", "GGUF", "Tokenizer", "ChatData", "Llama"], swiftSettings: fast),
        .executableTarget(
            name: "llama-sft",
            dependencies: ["Tensors", "Autodiff", "SafeTensors", "GGUF", "Tokenizer", "ChatData", "Llama", "Distributed", "Training", "Export"],
            swiftSettings: fast
        ),
        .testTarget(name: "TensorsTests", dependencies: ["TestSupport", "Tensors"], swiftSettings: fast),
        .testTarget(name: "AutodiffTests", dependencies: ["TestSupport", "Autodiff", "Tensors"], swiftSettings: fast),
        .testTarget(name: "RunLayoutTests", dependencies: ["RunLayout"], swiftSettings: fast),
        .testTarget(name: "SeedsTests", dependencies: ["Seeds"], swiftSettings: fast),
        .testTarget(name: "StrictJSONTests", dependencies: ["StrictJSON"], swiftSettings: fast),
        .testTarget(name: "SafeTensorsTests", dependencies: ["TestSupport", "SafeTensors", "Tensors"], swiftSettings: fast),
        .testTarget(name: "GGUFTests", dependencies: ["TestSupport", "GGUF", "SafeTensors", "Tensors"],
                    exclude: ["Fixtures", "WriterFixtures"], swiftSettings: fast),
        .testTarget(name: "TokenizerTests", dependencies: ["TestSupport", "Tokenizer"], swiftSettings: fast),
        .testTarget(name: "ChatDataTests", dependencies: ["TestSupport", "ChatData", "Seeds", "Tokenizer"], exclude: ["Fixtures"],
                    swiftSettings: fast),
        .testTarget(name: "LlamaTests", dependencies: ["TestSupport", "Llama", "GGUF", "Autodiff", "SafeTensors", "Tensors"], exclude: ["Fixtures"],
                    swiftSettings: fast),
        .testTarget(name: "TrainingTests", dependencies: ["TestSupport", "Seeds", "Training", "Distributed", "GGUF", "Llama", "ChatData", "Tokenizer", "SafeTensors", "Tensors", "Autodiff"],
                    exclude: ["Fixtures"], swiftSettings: fast),
        .testTarget(name: "DistributedTests", dependencies: ["TestSupport", "Distributed"], swiftSettings: fast),
        .testTarget(name: "ExportTests", dependencies: ["TestSupport", "Export", "GGUF", "ChatData", "Llama", "Tokenizer", "Autodiff", "SafeTensors", "Tensors"], swiftSettings: fast),
    ]
)

// Fuzzing (Fuzz/README.md): `Fuzz/run` sets LLAMA_SFT_FUZZ=1 and builds this libFuzzer target with
// `-sanitize=fuzzer,address` in its own build folder. Ordinary builds never see it.
if ProcessInfo.processInfo.environment["LLAMA_SFT_FUZZ"] == "1" {
    package.targets.append(.executableTarget(
        name: "llama-sft-fuzz",
        dependencies: ["SafeTensors", "Tokenizer", "ChatData", "Llama", "Training"],
        path: "Fuzz/Sources/llama-sft-fuzz"
    ))
    package.products.append(.executable(name: "llama-sft-fuzz", targets: ["llama-sft-fuzz"]))
}
