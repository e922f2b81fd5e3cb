/// The one-process job: every collective is the identity. A plain `llama-sft train` uses it, so the
/// one-process path is the N = 1 case of the distributed one.
public final class SingleProcess: Communicator {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    /// The running sum of an ordered sum (only one rank: it is that rank's buffers added in turn).
    private var running: [Float] = []
    public func accumulate(_ buffer: UnsafePointer<Float>, count: Int, contributors: Int, first: Bool) throws {
        if first { running = Array(UnsafeBufferPointer(start: buffer, count: count)) }
        else if contributors > 0 { for i in 0..<count { running[i] += buffer[i] } }
    }
    public func collectSum(into buffer: UnsafeMutablePointer<Float>, count: Int) throws {
        running.withUnsafeBufferPointer { buffer.update(from: $0.baseAddress!, count: count) }
    }
    public func sum(_ values: inout [Double]) throws {}
    public func gather(_ bytes: [UInt8]) throws -> [[UInt8]] { [bytes] }
    public func broadcast(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws {}
    public func broadcast(_ bytes: [UInt8]) throws -> [UInt8] { bytes }
    public var statistics: CommunicationStatistics { CommunicationStatistics() }
    public func abort(code: Int32) -> Never { exit(code) }
    public func finish() {}
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
