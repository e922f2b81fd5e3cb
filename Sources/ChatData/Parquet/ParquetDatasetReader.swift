/// Reads a Parquet dataset file into validated records, row group by row group.
///
/// Each row is assembled into the same JSON-like object a JSONL line of that row would parse to, then goes
/// through ``DatasetReader``'s format detection and validation, so a Parquet file and its JSONL twin give the
/// same records. Records name their row and row group (``RecordSource/rowGroup``).
enum ParquetDatasetReader {
    /// Top-level fields any dataset format reads; other non-text columns are not decoded.
    static let formatFields: Set<String> = ["messages", "conversations", "system", "prompt", "completion",
                                            "input_ids", "labels", "trained"]

    static func read(path: String, format: DatasetFormat, onInvalid: OnInvalid, vocabularySize: Int?,
                     limits: ParquetLimits = ParquetLimits()) throws -> DatasetFile {
        let parquet = try ParquetFile(path: path, limits: limits)
        var resolved = format
        if format == .auto {
            var keys: [String: Any] = [:]
            for name in parquet.fieldNames { keys[name] = true }
            guard let detected = DatasetReader.detect(keys) else {
                throw ChatDataError.undetectableFormat(path: path, keys: parquet.fieldNames.sorted())
            }
            resolved = detected
        }
        let fields = try parquet.fields(wanted: formatFields)
        guard !fields.isEmpty || parquet.metadata.numRows == 0 else {
            throw ChatDataError.parquet(path: path, location: "schema",
                                        problem: "no column holds text or a field of the \(resolved.rawValue) format (columns: \(parquet.fieldNames.joined(separator: ", ")))",
                                        fix: "set \"format\" to the dataset's real format, or add the columns it needs")
        }
        var file = DatasetFile(path: path, format: resolved, records: [], recordCount: 0, skipped: [:], skipExamples: [])
        file.records.reserveCapacity(Int(clamping: min(parquet.metadata.numRows, 1 << 24)))
        for g in parquet.metadata.rowGroups.indices {
            let rows = try parquet.rows(group: g, fields: fields)
            for row in rows {
                let index = file.recordCount
                let source = RecordSource(file: path, line: index + 1, record: index, rowGroup: g)
                try DatasetReader.add(.success(row), source: source, to: &file, onInvalid: onInvalid,
                                      vocabularySize: vocabularySize)
                file.recordCount += 1
            }
        }
        return file
    }
}
