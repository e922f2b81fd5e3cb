/// Decodes Parquet's RLE / bit-packed hybrid encoding, used for definition and repetition levels and for
/// dictionary indices (https://parquet.apache.org/docs/file-format/data-pages/encodings/).
///
/// A run header is a ULEB128 varint: an even header `2n` is a run of `n` copies of one value stored in
/// ceil(bitWidth / 8) little-endian bytes; an odd header `2g + 1` is `g` groups of 8 values bit-packed LSB first
/// in `g · bitWidth` bytes. Runs may hold more values than asked for (the last bit-packed group is padded).
enum RLEBitPackedDecoder {
    /// Appends exactly `count` values decoded from `bytes` to `out`.
    /// Throws when the runs end before `count` values or a value is above `maxValue`.
    static func decode<T: FixedWidthInteger>(_ bytes: UnsafeBufferPointer<UInt8>, bitWidth: Int, maxValue: UInt32,
                                             count: Int, into out: inout [T], what: String) throws {
        guard bitWidth >= 0 && bitWidth <= 32 else { throw ParquetError.corrupt(what, "bit width \(bitWidth) is above 32") }
        out.reserveCapacity(out.count + count)
        if bitWidth == 0 {
            out.append(contentsOf: repeatElement(0, count: count))
            return
        }
        var position = 0
        var left = count
        let byteWidth = (bitWidth + 7) / 8
        let mask: UInt64 = bitWidth == 32 ? 0xFFFF_FFFF : (1 << UInt64(bitWidth)) - 1
        while left > 0 {
            var header: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard position < bytes.count else {
                    throw ParquetError.corrupt(what, "the encoded levels or indices end after \(count - left) of \(count) values")
                }
                let b = bytes[position]
                position += 1
                header |= UInt64(b & 0x7F) << shift
                if b & 0x80 == 0 { break }
                shift += 7
                guard shift < 35 else { throw ParquetError.corrupt(what, "a run header is too long") }
            }
            if header & 1 == 0 {
                let runLength = Int(header >> 1)
                guard bytes.count - position >= byteWidth else { throw ParquetError.corrupt(what, "a run value runs past the end") }
                var value: UInt64 = 0
                for i in 0..<byteWidth { value |= UInt64(bytes[position + i]) << UInt64(8 * i) }
                position += byteWidth
                guard value <= UInt64(maxValue) else { throw ParquetError.corrupt(what, "a run holds \(value), above the largest allowed \(maxValue)") }
                let n = min(runLength, left)
                out.append(contentsOf: repeatElement(T(truncatingIfNeeded: value), count: n))
                left -= n
            } else {
                let groups = Int(header >> 1)
                let byteCount = groups * bitWidth   // header < 2^35, so this cannot overflow
                guard bytes.count - position >= byteCount else {
                    throw ParquetError.corrupt(what, "a bit-packed run of \(groups * 8) values runs past the end")
                }
                let n = min(groups * 8, left)
                var buffer: UInt64 = 0
                var bits: UInt64 = 0
                var p = position
                for _ in 0..<n {
                    while bits < UInt64(bitWidth) {
                        buffer |= UInt64(bytes[p]) << bits
                        p += 1
                        bits += 8
                    }
                    let value = buffer & mask
                    guard value <= UInt64(maxValue) else {
                        throw ParquetError.corrupt(what, "a bit-packed value \(value) is above the largest allowed \(maxValue)")
                    }
                    out.append(T(truncatingIfNeeded: value))
                    buffer >>= UInt64(bitWidth)
                    bits -= UInt64(bitWidth)
                }
                position += byteCount
                left -= n
            }
        }
    }

    /// Bits needed for values 0...maxValue.
    static func bitWidth(_ maxValue: Int) -> Int {
        maxValue <= 0 ? 0 : Int.bitWidth - maxValue.leadingZeroBitCount
    }
}
