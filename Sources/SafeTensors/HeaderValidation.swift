import StrictJSON

/// A validated safetensors header.
struct ParsedHeader {
    let metadata: [String: String]
    /// Tensors in data-buffer order (by offset; ties between empty tensors broken by name).
    let tensors: [TensorInfo]
    /// Offset of the data buffer from the start of the file: 8 + N.
    let dataStart: Int
}

/// Reference reader limit (huggingface/safetensors `MAX_HEADER_SIZE`).
let maxHeaderLength: UInt64 = 100_000_000

/// Validates a whole safetensors file given as bytes (normally the mapping) by the rules of REFERENCE §7:
/// framing, JSON, metadata, each entry, contiguous offsets from 0, byte counts, and no trailing bytes.
func parseSafeTensorsHeader(file: UnsafeRawBufferPointer, path: String) throws -> ParsedHeader {
    let fileSize = file.count
    guard fileSize >= 8 else { throw SafeTensorsError.fileTooSmall(path: path, size: fileSize) }
    let n = UInt64(littleEndian: file.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
    guard n <= maxHeaderLength else { throw SafeTensorsError.headerTooLarge(path: path, headerLength: n) }
    guard 8 + Int(n) <= fileSize else {
        throw SafeTensorsError.headerPastEndOfFile(path: path, headerLength: n, fileSize: fileSize)
    }
    let dataStart = 8 + Int(n)
    let headerBytes = UnsafeRawBufferPointer(rebasing: file[8..<dataStart])

    let json: JSONValue
    do {
        json = try JSONParser.parse(headerBytes)
    } catch let error as JSONParseError {
        switch error {
        case .invalidUTF8: throw SafeTensorsError.headerNotUTF8(path: path)
        case let .duplicateKey(key, _): throw SafeTensorsError.duplicateKey(path: path, key: key)
        case let .syntax(offset, reason):
            throw SafeTensorsError.headerNotJSON(path: path, byteOffset: offset, reason: reason)
        }
    }
    guard case let .object(entries) = json else { throw SafeTensorsError.headerNotObject(path: path) }

    var metadata: [String: String] = [:]
    var tensors: [TensorInfo] = []
    tensors.reserveCapacity(entries.count)
    for (key, value) in entries {
        if key == "__metadata__" {
            metadata = try parseMetadata(value, path: path)
        } else {
            tensors.append(try parseEntry(name: key, value: value, path: path))
        }
    }

    // Sorted by offset the tensors must tile [0, dataLength) exactly (reference `Metadata::validate`).
    tensors.sort { a, b in
        if a.byteRange.lowerBound != b.byteRange.lowerBound { return a.byteRange.lowerBound < b.byteRange.lowerBound }
        if a.byteRange.upperBound != b.byteRange.upperBound { return a.byteRange.upperBound < b.byteRange.upperBound }
        return a.name.utf8.lexicographicallyPrecedes(b.name.utf8)
    }
    var end = 0
    for (i, t) in tensors.enumerated() {
        let begin = t.byteRange.lowerBound
        if i == 0, begin != 0 {
            throw SafeTensorsError.firstOffsetNotZero(path: path, tensor: t.name, begin: begin)
        }
        if begin < end {
            throw SafeTensorsError.overlappingOffsets(
                path: path, tensor: t.name, previous: tensors[i - 1].name, begin: begin, previousEnd: end)
        }
        if begin > end {
            throw SafeTensorsError.gapInOffsets(
                path: path, tensor: t.name, previous: tensors[i - 1].name, begin: begin, previousEnd: end)
        }
        end = t.byteRange.upperBound
    }

    let (dataEnd, overflow) = dataStart.addingReportingOverflow(end)
    if overflow || dataEnd > fileSize {
        throw SafeTensorsError.truncatedData(path: path, dataEnd: overflow ? Int.max : dataEnd, fileSize: fileSize)
    }
    if dataEnd < fileSize {
        throw SafeTensorsError.trailingBytes(path: path, dataEnd: dataEnd, fileSize: fileSize)
    }
    return ParsedHeader(metadata: metadata, tensors: tensors, dataStart: dataStart)
}

/// `__metadata__` is an optional flat string → string map; `null` counts as absent, as in the reference.
private func parseMetadata(_ value: JSONValue, path: String) throws -> [String: String] {
    switch value {
    case .null:
        return [:]
    case let .object(pairs):
        var out: [String: String] = [:]
        for (k, v) in pairs {
            guard case let .string(s) = v else {
                throw SafeTensorsError.invalidMetadata(path: path, key: k, reason: "value is \(v.kindName), not a string")
            }
            out[k] = s
        }
        return out
    default:
        throw SafeTensorsError.invalidMetadata(path: path, key: nil, reason: "it is \(value.kindName), not an object")
    }
}

/// One `"name": {"dtype": …, "shape": […], "data_offsets": [BEGIN, END]}` entry. Unknown extra keys are
/// ignored, as the reference reader does.
private func parseEntry(name: String, value: JSONValue, path: String) throws -> TensorInfo {
    guard case let .object(fields) = value else {
        throw SafeTensorsError.invalidEntry(path: path, tensor: name, reason: "entry is \(value.kindName), not an object")
    }
    func field(_ key: String) throws -> JSONValue {
        guard let v = fields.first(where: { $0.key == key })?.value else {
            throw SafeTensorsError.invalidEntry(path: path, tensor: name, reason: "missing key '\(key)'")
        }
        return v
    }

    guard case let .string(dtypeName) = try field("dtype") else {
        throw SafeTensorsError.invalidEntry(path: path, tensor: name, reason: "'dtype' is not a string")
    }
    guard let dtype = DType(rawValue: dtypeName) else {
        throw SafeTensorsError.unknownDType(path: path, tensor: name, dtype: dtypeName)
    }

    guard case let .array(dims) = try field("shape") else {
        throw SafeTensorsError.invalidShape(path: path, tensor: name, reason: "'shape' is not an array")
    }
    var shape: [Int] = []
    shape.reserveCapacity(dims.count)
    for d in dims {
        guard let v = d.nonNegativeInt else {
            throw SafeTensorsError.invalidShape(
                path: path, tensor: name, reason: "dimension \(d.kindName) is not a non-negative integer that fits in 64 bits")
        }
        shape.append(v)
    }

    guard case let .array(offsets) = try field("data_offsets"), offsets.count == 2 else {
        throw SafeTensorsError.invalidOffsets(path: path, tensor: name, reason: "'data_offsets' is not a [BEGIN, END] pair")
    }
    guard let begin = offsets[0].nonNegativeInt, let end = offsets[1].nonNegativeInt else {
        throw SafeTensorsError.invalidOffsets(
            path: path, tensor: name, reason: "offsets must be non-negative integers that fit in 64 bits")
    }
    guard begin <= end else {
        throw SafeTensorsError.invalidOffsets(path: path, tensor: name, reason: "BEGIN \(begin) is after END \(end)")
    }

    let shapeText = "[" + dims.map { if case let .number(t) = $0 { return t } else { return "?" } }.joined(separator: ",") + "]"
    switch checkedSize(shape: shape, dtype: dtype) {
    case .failure(.overflow):
        throw SafeTensorsError.shapeOverflow(path: path, tensor: name, shape: shapeText, dtype: dtype)
    case .failure(.fractionalBytes):
        throw SafeTensorsError.fractionalByteCount(path: path, tensor: name, shape: shape, dtype: dtype)
    case .failure(.negativeDimension):
        // Unreachable: dimensions were parsed as non-negative.
        throw SafeTensorsError.invalidShape(path: path, tensor: name, reason: "negative dimension")
    case let .success((_, bytes)):
        if bytes != end - begin {
            throw SafeTensorsError.sizeMismatch(
                path: path, tensor: name, shape: shape, dtype: dtype, expectedBytes: bytes, actualBytes: end - begin)
        }
    }
    return TensorInfo(name: name, dtype: dtype, shape: shape, byteRange: begin..<end)
}
