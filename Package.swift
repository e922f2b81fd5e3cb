// swift-tools-version:6.0
import PackageDescription

// Debug builds (the default for `swift test`) are far too slow for numeric kernels (SWIFT-NOTES §3),
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
        .target(name: "Tensors", dependencies: ["CBLAS"], swiftSettings: fast),
        .target(name: "Autodiff", dependencies: ["Tensors"], swiftSettings: fast),
        .target(name: "SafeTensors", swiftSettings: fast),
        // GGUF model files (llama.cpp, Ollama): reader, writer, quant types.
        .target(name: "GGUF", dependencies: ["SafeTensors"], swiftSettings: fast),
        .target(name: "Tokenizer", swiftSettings: fast),
        .target(name: "ChatData", dependencies: ["Tokenizer"], swiftSettings: fast),
        .target(name: "Llama", dependencies: ["Tensors", "Autodiff", "SafeTensors", "GGUF"], swiftSettings: fast),
        .target(name: "Training", dependencies: ["Tensors", "Autodiff", "SafeTensors", "GGUF", "Tokenizer", "ChatData", "Llama"], swiftSettings: fast),
        .target(name: "Export", dependencies: ["Tensors", "Autodiff", "SafeTensors", "GGUF", "Tokenizer", "ChatData", "Llama"], swiftSettings: fast),
        .executableTarget(
            name: "llama-sft",
            dependencies: ["Tensors", "Autodiff", "SafeTensors", "GGUF", "Tokenizer", "ChatData", "Llama", "Training", "Export"],
            swiftSettings: fast
        ),
        .testTarget(name: "TensorsTests", dependencies: ["TestSupport", "Tensors"], swiftSettings: fast),
        .testTarget(name: "AutodiffTests", dependencies: ["TestSupport", "Autodiff", "Tensors"], swiftSettings: fast),
        .testTarget(name: "SafeTensorsTests", dependencies: ["TestSupport", "SafeTensors", "Tensors"], swiftSettings: fast),
        .testTarget(name: "GGUFTests", dependencies: ["TestSupport", "GGUF", "SafeTensors", "Tensors"],
                    exclude: ["Fixtures", "WriterFixtures"], swiftSettings: fast),
        .testTarget(name: "TokenizerTests", dependencies: ["TestSupport", "Tokenizer"], swiftSettings: fast),
        .testTarget(name: "ChatDataTests", dependencies: ["TestSupport", "ChatData", "Tokenizer"], swiftSettings: fast),
        .testTarget(name: "LlamaTests", dependencies: ["TestSupport", "Llama", "GGUF", "Autodiff", "SafeTensors", "Tensors"], swiftSettings: fast),
        .testTarget(name: "TrainingTests", dependencies: ["TestSupport", "Training", "GGUF", "Llama", "ChatData", "Tokenizer", "SafeTensors", "Tensors", "Autodiff"], swiftSettings: fast),
        .testTarget(name: "ExportTests", dependencies: ["TestSupport", "Export", "GGUF", "ChatData", "Llama", "Autodiff", "SafeTensors", "Tensors"], swiftSettings: fast),
    ]
)
