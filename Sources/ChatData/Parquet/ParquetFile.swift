import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An open Parquet file: its footer, schema and the top-level fields the dataset reader uses. Row groups are
/// read one at a time with positioned reads, so memory stays proportional to one row group's columns.
///
/// Layout: `PAR1`, column chunks, the Thrift-encoded `FileMetaData`, its 4-byte little-endian length, `PAR1`
/// (https://parquet.apache.org/docs/file-format/).
final class ParquetFile {
    let path: String
    let metadata: ParquetFileMetadata
    /// Names of every top-level field, in schema order (what format detection looks at).
    let fieldNames: [String]
    let limits: ParquetLimits
    private let descriptor: Int32
    private let dataEnd: Int64
    private let topNodes: [ParquetSchemaNode]

    static let magic: [UInt8] = Array("PAR1".utf8)

    /// True when the file starts with the Parquet magic `PAR1`.
    static func hasMagic(path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        return (try? handle.read(upToCount: 4)).map { [UInt8]($0) == magic } ?? false
    }

    init(path: String, limits: ParquetLimits = ParquetLimits()) throws {
        self.path = path
        self.limits = limits
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw ChatDataError.unreadableFile(path: path, reason: String(cString: strerror(errno)))
        }
        descriptor = fd
        var ok = false
        defer { if !ok { close(fd) } }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw ChatDataError.unreadableFile(path: path, reason: String(cString: strerror(errno))) }
        let size = Int64(info.st_size)
        do {
            guard size >= 12 else {
                throw ParquetError.corrupt("file footer", "the file has \(size) bytes, fewer than the 12 of an empty Parquet file")
            }
            let head = try Self.read(fd, at: 0, count: 4, what: "file header")
            let tail = try Self.read(fd, at: size - 8, count: 8, what: "file footer")
            guard head == Self.magic, Array(tail[4...]) == Self.magic else {
                throw ParquetError.corrupt("file footer", "the file does not start and end with \"PAR1\"")
            }
            let footerLength = Int64(tail[0]) | Int64(tail[1]) << 8 | Int64(tail[2]) << 16 | Int64(tail[3]) << 24
            guard footerLength <= size - 12 else {
                throw ParquetError.corrupt("file footer", "the footer claims \(footerLength) bytes but the file has \(size - 12) between its magic numbers")
            }
            dataEnd = size - 8 - footerLength
            let footer = try Self.read(fd, at: dataEnd, count: Int(footerLength), what: "file footer")
            metadata = try ParquetFileMetadata.decode(footer, from: 0, to: footer.count)
            topNodes = try ParquetSchema.tree(metadata.schema)
            fieldNames = topNodes.map(\.element.name)
            let leafCount = ParquetSchema.leafCount(topNodes)
            var total: Int64 = 0
            for (g, group) in metadata.rowGroups.enumerated() {
                guard group.columns.count == leafCount, group.numRows >= 0 else {
                    throw ParquetError.corrupt("row group \(g)", "it has \(group.columns.count) columns and \(group.numRows) rows; the schema has \(leafCount) columns")
                }
                total += group.numRows
            }
            guard total == metadata.numRows else {
                throw ParquetError.corrupt("file footer", "the row groups hold \(total) rows but the footer says \(metadata.numRows)")
            }
        } catch let error as ParquetError {
            throw ParquetFile.error(error, path: path)
        }
        ok = true
    }

    deinit { close(descriptor) }

    static func error(_ error: ParquetError, path: String) -> ChatDataError {
        .parquet(path: path, location: error.location, problem: error.problem, fix: error.fix)
    }

    /// The fields read for the dataset: `wanted` names, plus every top-level text column (kept as metadata,
    /// as string fields of JSON records are). A wanted field of a shape the reader cannot assemble is an
    /// error that names it; other unreadable fields are left out, as non-string JSON fields would be ignored.
    func fields(wanted: Set<String>) throws -> [ParquetField] {
        var out: [ParquetField] = []
        for node in topNodes {
            let name = node.element.name
            let isTextColumn = node.children.isEmpty && node.element.repetition != .repeated && node.element.isText
            guard wanted.contains(name) || isTextColumn else { continue }
            switch ParquetSchema.shape(of: node) {
            case .success(let shape):
                let field = ParquetField(name: name, shape: shape)
                for leaf in field.leaves where ![.byteArray, .int32, .int64, .boolean].contains(leaf.type) {
                    throw ChatDataError.parquet(path: path, location: "column \"\(name)\"",
                                                problem: "its values are \(leaf.type) (strings, INT32, INT64 and BOOLEAN are read)",
                                                fix: "store the column as strings or integers")
                }
                out.append(field)
            case .failure(let unsupported):
                throw ChatDataError.parquet(path: path, location: "column \"\(name)\"", problem: "it is \(unsupported.why)",
                                            fix: "store it as a string, a list of strings or integers, or a list of structs of those")
            }
        }
        return out
    }

    /// The rows of row group `g` as `[field name: value]`, JSON-like (see ``ParquetRowAssembler``).
    func rows(group g: Int, fields: [ParquetField]) throws -> [[String: Any]] {
        let group = metadata.rowGroups[g]
        let rows = Int(group.numRows)
        let what = "row group \(g)"
        do {
            var values: [[Any]] = []
            for field in fields {
                var columns: [ParquetLeafColumn] = []
                for leaf in field.leaves {
                    let meta = group.columns[leaf.column]
                    let name = meta.path.joined(separator: ".")
                    let reader = ParquetColumnReader(leaf: leaf, meta: meta, limits: limits, what: "column \"\(name)\"")
                    guard meta.type == leaf.type else {
                        throw ParquetError.corrupt(reader.what, "the row group says \(meta.type), the schema \(leaf.type)")
                    }
                    let chunk = try readChunk(meta, what: reader.what)
                    columns.append(try reader.read(chunk))
                }
                values.append(try ParquetRowAssembler.values(of: field, columns: columns, rows: rows, what: ""))
            }
            var out: [[String: Any]] = []
            out.reserveCapacity(rows)
            for r in 0..<rows {
                var row: [String: Any] = Dictionary(minimumCapacity: fields.count)
                for (field, column) in zip(fields, values) { row[field.name] = column[r] }
                out.append(row)
            }
            return out
        } catch let error as ParquetError {
            throw ParquetFile.error(error.within(what), path: path)
        }
    }

    /// A column chunk's bytes: from its dictionary page (if any) or first data page, `total_compressed_size` long.
    private func readChunk(_ meta: ParquetColumnMetadata, what: String) throws -> [UInt8] {
        var start = meta.dataPageOffset
        if let dictionary = meta.dictionaryPageOffset, dictionary > 0, dictionary < start { start = dictionary }
        guard start >= 4, meta.totalCompressedSize >= 0, start <= dataEnd, meta.totalCompressedSize <= dataEnd - start else {
            throw ParquetError.corrupt(what, "the column chunk at byte \(start), \(meta.totalCompressedSize) bytes long, lies outside the file's data (bytes 4..<\(dataEnd))")
        }
        guard meta.numValues >= 0 else { throw ParquetError.corrupt(what, "the column chunk claims \(meta.numValues) values") }
        return try Self.read(descriptor, at: start, count: Int(meta.totalCompressedSize), what: what)
    }

    private static func read(_ fd: Int32, at offset: Int64, count: Int, what: String) throws -> [UInt8] {
        try [UInt8](unsafeUninitializedCapacity: count) { buffer, written in
            var done = 0
            while done < count {
                let n = pread(fd, buffer.baseAddress! + done, count - done, off_t(offset) + off_t(done))
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw ParquetError.corrupt(what, "reading \(count) bytes at \(offset) failed after \(done)") }
                done += n
            }
            written = count
        }
    }
}
