import Foundation

/// Turns decoded leaf columns back into per-row values shaped like what `JSONSerialization` gives for the
/// same row written as JSON: `String`, `NSNumber`, `[Any]`, `[String: Any]`, and `NSNull` for nulls. The
/// dataset reader then validates Parquet rows and JSON records with the same code.
///
/// Record shredding (the Dremel paper, as Parquet specifies it): in a list, repetition level 0 starts a new
/// row and 1 a new element of the current list; the definition level says how deep the entry is defined
/// (see ``ParquetFieldShape``). Non-null values are stored only for entries defined all the way down.
enum ParquetRowAssembler {
    /// One value per row for `field`.
    static func values(of field: ParquetField, columns: [ParquetLeafColumn], rows: Int, what: String) throws -> [Any] {
        switch field.shape {
        case .primitive(let leaf):
            let column = columns[0]
            guard column.count == rows else {
                throw ParquetError.corrupt(what, "column \"\(field.name)\" has \(column.count) entries for \(rows) rows")
            }
            var out: [Any] = []
            out.reserveCapacity(rows)
            var next = 0
            let available = valueCount(column)
            for i in 0..<rows {
                if leaf.maxDefinition > 0 && Int(column.definitions[i]) < leaf.maxDefinition {
                    out.append(NSNull())
                } else {
                    guard next < available else { throw ParquetError.corrupt(what, "column \"\(field.name)\" has fewer values than defined entries") }
                    out.append(value(column, leaf, next))
                    next += 1
                }
            }
            return out
        case let .list(listDefinedAt, elementAt, elementDefinedAt, element):
            let leaves = element.leaves
            // The first leaf gives the list structure; the others must agree with it.
            let structure = try ListStructure(columns[0], listDefinedAt: listDefinedAt, elementAt: elementAt,
                                              elementDefinedAt: elementDefinedAt, rows: rows,
                                              what: "\(what), column \"\(field.name).\(leaves[0].name)\"")
            var memberValues: [[Any]] = []
            for (leaf, column) in zip(leaves, columns) {
                let where_ = "\(what), column \"\(field.name).\(leaf.name)\""
                if memberValues.count > 0 {
                    let other = try ListStructure(column, listDefinedAt: listDefinedAt, elementAt: elementAt,
                                                  elementDefinedAt: elementDefinedAt, rows: rows, what: where_)
                    guard other.rowStarts == structure.rowStarts, other.elementIsNull == structure.elementIsNull,
                          other.rowIsNull == structure.rowIsNull else {
                        throw ParquetError.corrupt(where_, "its list structure differs from \"\(field.name).\(leaves[0].name)\"")
                    }
                }
                memberValues.append(try elementValues(column, leaf: leaf, structure: structure, what: where_))
            }
            var out: [Any] = []
            out.reserveCapacity(rows)
            for r in 0..<rows {
                if structure.rowIsNull[r] {
                    out.append(NSNull())
                    continue
                }
                var list: [Any] = []
                let range = structure.rowStarts[r]..<structure.rowStarts[r + 1]
                list.reserveCapacity(range.count)
                for e in range {
                    if structure.elementIsNull[e] {
                        list.append(NSNull())
                    } else if case .structure = element {
                        var object: [String: Any] = [:]
                        for (leaf, values) in zip(leaves, memberValues) { object[leaf.name] = values[e] }
                        list.append(object)
                    } else {
                        list.append(memberValues[0][e])
                    }
                }
                out.append(list)
            }
            return out
        }
    }

    /// Where each row's elements start, and which rows and elements are null.
    struct ListStructure {
        /// `rows + 1` offsets into the elements.
        var rowStarts: [Int] = [0]
        var rowIsNull: [Bool] = []
        var elementIsNull: [Bool] = []
        /// Definition level from which an entry is an element (below it: a null or empty list).
        let elementAt: Int

        init(_ column: ParquetLeafColumn, listDefinedAt: Int, elementAt: Int, elementDefinedAt: Int, rows: Int,
             what: String) throws {
            self.elementAt = elementAt
            // `rows` comes from the footer; reserve no more than the entries actually decoded.
            rowStarts.reserveCapacity(min(rows, column.count) + 1)
            rowIsNull.reserveCapacity(min(rows, column.count))
            elementIsNull.reserveCapacity(column.count)
            for i in 0..<column.count {
                let d = column.definitions.isEmpty ? elementDefinedAt : Int(column.definitions[i])
                if column.repetitions[i] == 0 {
                    if rowIsNull.count > 0 { rowStarts.append(elementIsNull.count) }
                    rowIsNull.append(d < listDefinedAt)
                } else if rowIsNull.isEmpty || d < elementAt {
                    throw ParquetError.corrupt(what, "entry \(i) continues a list that does not exist")
                }
                if d >= elementAt { elementIsNull.append(d < elementDefinedAt) }
            }
            if rowIsNull.count > 0 { rowStarts.append(elementIsNull.count) }
            guard rowIsNull.count == rows else {
                throw ParquetError.corrupt(what, "the column holds \(rowIsNull.count) rows, the row group \(rows)")
            }
        }
    }

    /// One value per element of `structure` (NSNull for null members; a placeholder for null elements).
    private static func elementValues(_ column: ParquetLeafColumn, leaf: ParquetLeaf, structure: ListStructure,
                                      what: String) throws -> [Any] {
        var out: [Any] = []
        out.reserveCapacity(structure.elementIsNull.count)
        var next = 0
        let available = valueCount(column)
        for i in 0..<column.count {
            let d = column.definitions.isEmpty ? leaf.maxDefinition : Int(column.definitions[i])
            // Entries below the element level are null or empty lists and have no element.
            if d < structure.elementAt { continue }
            if d == leaf.maxDefinition {
                guard next < available else { throw ParquetError.corrupt(what, "fewer values than defined entries") }
                out.append(value(column, leaf, next))
                next += 1
            } else {
                out.append(NSNull())
            }
        }
        guard out.count == structure.elementIsNull.count else {
            throw ParquetError.corrupt(what, "\(out.count) elements where the list structure has \(structure.elementIsNull.count)")
        }
        return out
    }

    private static func valueCount(_ column: ParquetLeafColumn) -> Int {
        max(column.strings.count, column.integers.count, column.booleans.count)
    }

    private static func value(_ column: ParquetLeafColumn, _ leaf: ParquetLeaf, _ i: Int) -> Any {
        switch leaf.type {
        case .byteArray: return column.strings[i]
        case .boolean: return NSNumber(value: column.booleans[i])
        default: return NSNumber(value: Int(column.integers[i]))
        }
    }
}
