/// What went wrong while reading a Parquet file, before the file path is attached.
///
/// `location` says where inside the file (footer, row group, column, page); `fix` tells the user what to do.
/// ``ParquetDatasetReader`` turns it into ``ChatDataError/parquet(path:location:problem:fix:)``.
struct ParquetError: Error, Equatable {
    var location: String
    var problem: String
    var fix: String

    /// The file is damaged or not what its metadata says.
    static func corrupt(_ location: String, _ problem: String) -> ParquetError {
        ParquetError(location: location, problem: problem,
                     fix: "the file is truncated or damaged; download or write it again")
    }

    /// A valid Parquet feature this reader does not implement.
    static func unsupported(_ location: String, _ problem: String) -> ParquetError {
        ParquetError(location: location, problem: problem, fix: resaveHint)
    }

    static let resaveHint = "re-save the file with pyarrow's defaults, e.g. pq.write_table(pq.read_table(f), f2, compression=\"snappy\")"

    /// The same error with `outer` put in front of its location (e.g. the row group around a column).
    func within(_ outer: String) -> ParquetError {
        ParquetError(location: location.isEmpty ? outer : outer + ", " + location, problem: problem, fix: fix)
    }
}
