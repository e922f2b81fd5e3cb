/// The one-process job: every collective is the identity. A plain `llama-sft train` uses it, so the
/// one-process path is the N = 1 case of the distributed one.
public final class SingleProcess: Communicator {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public func sum(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws {}
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
