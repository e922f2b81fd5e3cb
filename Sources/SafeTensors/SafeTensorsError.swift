import Foundation

/// Everything that can go wrong reading or writing safetensors files and shard indexes.
///
/// Every case carries the path of the file involved and, where one is involved, the tensor name,
/// so a message alone tells the user which file to fix or re-download.
public enum SafeTensorsError: LocalizedError, Sendable, Equatable {
    // Opening and mapping
    case cannotOpen(path: String, reason: String)
    case mapFailed(path: String, reason: String)

    // Header framing (docs/formats.md, safetensors)
    case fileTooSmall(path: String, size: Int)
    case headerTooLarge(path: String, headerLength: UInt64)
    case headerPastEndOfFile(path: String, headerLength: UInt64, fileSize: Int)
    case headerNotUTF8(path: String)
    case headerNotJSON(path: String, byteOffset: Int, reason: String)
    case headerNotObject(path: String)
    case duplicateKey(path: String, key: String)

    // `__metadata__`
    case invalidMetadata(path: String, key: String?, reason: String)

    // Per-tensor entries
    case invalidEntry(path: String, tensor: String, reason: String)
    case unknownDType(path: String, tensor: String, dtype: String)
    case invalidShape(path: String, tensor: String, reason: String)
    case invalidOffsets(path: String, tensor: String, reason: String)
    case shapeOverflow(path: String, tensor: String, shape: String, dtype: DType)
    case sizeMismatch(path: String, tensor: String, shape: [Int], dtype: DType, expectedBytes: Int, actualBytes: Int)
    case fractionalByteCount(path: String, tensor: String, shape: [Int], dtype: DType)

    // Layout of the data buffer (docs/formats.md, safetensors)
    case firstOffsetNotZero(path: String, tensor: String, begin: Int)
    case overlappingOffsets(path: String, tensor: String, previous: String, begin: Int, previousEnd: Int)
    case gapInOffsets(path: String, tensor: String, previous: String, begin: Int, previousEnd: Int)
    case trailingBytes(path: String, dataEnd: Int, fileSize: Int)
    case truncatedData(path: String, dataEnd: Int, fileSize: Int)

    // Access
    case tensorNotFound(path: String, tensor: String)
    case unsupportedDType(path: String, tensor: String, dtype: DType, operation: String)
    case countMismatch(path: String, tensor: String, expected: Int, given: Int)

    // Collections and shard indexes
    case noWeights(directory: String)
    case invalidIndex(path: String, reason: String)
    case missingShard(indexPath: String, shard: String, tensor: String)
    case tensorNotInShard(indexPath: String, shard: String, tensor: String)

    // Writing
    case invalidTensorToWrite(path: String, tensor: String, reason: String)
    case duplicateTensorName(path: String, tensor: String)
    case writeFailed(path: String, reason: String)
    case invalidByteSize(text: String, reason: String)
    case invalidMaxShardSize(directory: String, maxShardBytes: Int)

    public var errorDescription: String? {
        switch self {
        case let .cannotOpen(path, reason):
            return "\(path): cannot open (\(reason)). Check the path and its permissions."
        case let .mapFailed(path, reason):
            return "\(path): cannot memory-map the file (\(reason))."
        case let .fileTooSmall(path, size):
            return "\(path): file is \(size) bytes, smaller than the 8-byte header length; it is not a safetensors file "
                + "or was truncated. Re-download or re-export it."
        case let .headerTooLarge(path, headerLength):
            return "\(path): header length \(headerLength) exceeds the 100,000,000-byte limit; the file is corrupt "
                + "or not a safetensors file."
        case let .headerPastEndOfFile(path, headerLength, fileSize):
            return "\(path): header length \(headerLength) runs past the end of the \(fileSize)-byte file; "
                + "the file is truncated or not a safetensors file. Re-download or re-export it."
        case let .headerNotUTF8(path):
            return "\(path): header is not valid UTF-8; the file is corrupt."
        case let .headerNotJSON(path, offset, reason):
            return "\(path): header is not valid JSON at header byte \(offset): \(reason). The file is corrupt."
        case let .headerNotObject(path):
            return "\(path): header JSON is not an object; safetensors headers map tensor names to entries."
        case let .duplicateKey(path, key):
            return "\(path): header contains the key '\(key)' more than once; duplicate keys are invalid."
        case let .invalidMetadata(path, key, reason):
            let which = key.map { " key '\($0)'" } ?? ""
            return "\(path): __metadata__\(which) is invalid: \(reason). It must be a flat string → string map."
        case let .invalidEntry(path, tensor, reason):
            return "\(path): tensor '\(tensor)': \(reason)."
        case let .unknownDType(path, tensor, dtype):
            return "\(path): tensor '\(tensor)' has unknown dtype '\(dtype)'. Known: "
                + DType.allCases.map(\.rawValue).joined(separator: " ") + "."
        case let .invalidShape(path, tensor, reason):
            return "\(path): tensor '\(tensor)' has an invalid shape: \(reason)."
        case let .invalidOffsets(path, tensor, reason):
            return "\(path): tensor '\(tensor)' has invalid data_offsets: \(reason)."
        case let .shapeOverflow(path, tensor, shape, dtype):
            return "\(path): tensor '\(tensor)' has shape \(shape) whose \(dtype.rawValue) byte size overflows a "
                + "64-bit integer; the header is corrupt."
        case let .sizeMismatch(path, tensor, shape, dtype, expected, actual):
            return "\(path): tensor '\(tensor)' has shape \(formatShape(shape)) (\(describeCount(shape)) × \(dtype.rawValue) = "
                + "\(expected) bytes) but data_offsets span \(actual) bytes. The file is corrupt or was written "
                + "by a buggy writer; re-export it."
        case let .fractionalByteCount(path, tensor, shape, dtype):
            return "\(path): tensor '\(tensor)' has shape \(formatShape(shape)) of \(dtype.rawValue) "
                + "(\(dtype.bitSize) bits each), which is not a whole number of bytes."
        case let .firstOffsetNotZero(path, tensor, begin):
            return "\(path): the first tensor in the data buffer, '\(tensor)', starts at offset \(begin), not 0; "
                + "the data buffer must be fully covered. The file is corrupt."
        case let .overlappingOffsets(path, tensor, previous, begin, previousEnd):
            return "\(path): tensor '\(tensor)' starts at offset \(begin), inside '\(previous)' which ends at "
                + "\(previousEnd); tensors must not overlap. The file is corrupt."
        case let .gapInOffsets(path, tensor, previous, begin, previousEnd):
            return "\(path): tensor '\(tensor)' starts at offset \(begin) but '\(previous)' ends at \(previousEnd), "
                + "leaving a gap of \(begin - previousEnd) bytes; tensors must be contiguous. The file is corrupt."
        case let .trailingBytes(path, dataEnd, fileSize):
            return "\(path): the header describes \(dataEnd) bytes but the file has \(fileSize) "
                + "(\(fileSize - dataEnd) trailing bytes). The file is corrupt."
        case let .truncatedData(path, dataEnd, fileSize):
            return "\(path): the header describes \(dataEnd) bytes but the file has only \(fileSize); the file is "
                + "truncated. Re-download or re-export it."
        case let .tensorNotFound(path, tensor):
            return "\(path): no tensor named '\(tensor)'."
        case let .unsupportedDType(path, tensor, dtype, operation):
            return "\(path): tensor '\(tensor)' is \(dtype.rawValue); \(operation) supports only F32, F16 and BF16."
        case let .countMismatch(path, tensor, expected, given):
            return "\(path): tensor '\(tensor)' has \(expected) elements but the destination holds \(given)."
        case let .noWeights(directory):
            return "\(directory): contains neither model.safetensors nor model.safetensors.index.json. "
                + "Point at a Hugging Face model directory with safetensors weights."
        case let .invalidIndex(path, reason):
            return "\(path): invalid shard index: \(reason)."
        case let .missingShard(indexPath, shard, tensor):
            return "\(indexPath): weight_map sends '\(tensor)' to shard '\(shard)', which does not exist next to the "
                + "index. Download all shards listed in the index."
        case let .tensorNotInShard(indexPath, shard, tensor):
            return "\(indexPath): weight_map sends '\(tensor)' to shard '\(shard)', but that shard has no such tensor."
        case let .invalidTensorToWrite(path, tensor, reason):
            return "\(path): cannot write tensor '\(tensor)': \(reason)."
        case let .duplicateTensorName(path, tensor):
            return "\(path): tensor name '\(tensor)' is given more than once."
        case let .writeFailed(path, reason):
            return "\(path): write failed: \(reason). Check free disk space and permissions."
        case let .invalidMaxShardSize(directory, maxShardBytes):
            return "\(directory): the maximum shard size must be a positive number of bytes, got \(maxShardBytes)."
        case let .invalidByteSize(text, reason):
            return "'\(text)' is not a byte size: \(reason). Use e.g. 5GB, 500MB, 2GiB or a plain byte count."
        }
    }
}

/// The element count of `shape` as text, without trapping on overflow.
func describeCount(_ shape: [Int]) -> String {
    var n = 1
    for d in shape {
        let (p, o) = n.multipliedReportingOverflow(by: d)
        if o { return "overflowing" }
        n = p
    }
    return String(n)
}

/// `[2,3]`, the way the header spells a shape.
func formatShape(_ shape: [Int]) -> String {
    "[" + shape.map(String.init).joined(separator: ",") + "]"
}
