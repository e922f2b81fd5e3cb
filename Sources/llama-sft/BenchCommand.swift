import Foundation

/// `llama-sft bench kernels | <shape> [...]`.
enum BenchCommand {
    static let usage = """
    usage: llama-sft bench kernels [--threads N] [--repeats N]
    """

    static func run(_ args: [String]) throws -> Int32 {
        let parsed = try Arguments(args, valued: ["threads", "repeats"], switches: [])
        guard let what = parsed.positionals.first else { throw UsageError("what to benchmark?\n\(usage)") }
        let threads = parsed.value("threads").flatMap(Int.init)
        switch what {
        case "kernels":
            KernelBench.run(threads: threads, repeats: try parsed.int("repeats", default: 5))
            return 0
        default:
            throw UsageError("unknown benchmark '\(what)'\n\(usage)")
        }
    }
}
