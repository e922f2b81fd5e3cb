/// The schema tree of a Parquet file and the shapes of its top-level fields that the dataset reader
/// can turn into JSON-like values.
///
/// Supported shapes (what `datasets`, pandas and pyarrow write for chat and pre-tokenized data):
/// a primitive column (`prompt: string`), and a list of primitives or of a struct of primitives
/// (`input_ids: list<int64>`, `messages: list<struct<content: string, role: string>>`), in the standard
/// three-level LIST layout or the older two-level one. Definition levels say how far down a value's path is
/// defined; the thresholds below are the levels at which each node of the path stops being null.
struct ParquetSchemaNode {
    var element: ParquetSchemaElement
    var children: [ParquetSchemaNode]
    /// Index of the leaf column in a row group's `columns` (leaves only).
    var leafIndex: Int?
}

/// A leaf column as the reader decodes it.
struct ParquetLeaf {
    var column: Int
    var name: String
    var type: ParquetPhysicalType
    /// Definition level at which the leaf's value is present; below it the entry is null or empty.
    var maxDefinition: Int
    var maxRepetition: Int
}

/// How one top-level field becomes a value of a row.
enum ParquetFieldShape {
    /// A primitive column; when it is optional, definition level 0 means null.
    case primitive(ParquetLeaf)
    /// A list. Definition levels: below `listDefinedAt` the list is null, below `elementAt` it is empty,
    /// below `elementDefinedAt` the element is null.
    case list(listDefinedAt: Int, elementAt: Int, elementDefinedAt: Int, element: ParquetElementShape)
}

enum ParquetElementShape {
    case primitive(ParquetLeaf)
    /// Struct members in schema order.
    case structure([ParquetLeaf])

    var leaves: [ParquetLeaf] {
        switch self {
        case .primitive(let leaf): return [leaf]
        case .structure(let leaves): return leaves
        }
    }
}

struct ParquetField {
    var name: String
    var shape: ParquetFieldShape

    var leaves: [ParquetLeaf] {
        switch shape {
        case .primitive(let leaf): return [leaf]
        case .list(_, _, _, let element): return element.leaves
        }
    }
}

/// Why a top-level field cannot be assembled into a row value.
struct UnsupportedShape: Error {
    var why: String
}

enum ParquetSchema {
    static let maxDepth = 32

    /// The root's children as a tree; leaves are numbered in schema order, which is the column order of
    /// every row group.
    static func tree(_ elements: [ParquetSchemaElement]) throws -> [ParquetSchemaNode] {
        guard let root = elements.first else { throw ParquetError.corrupt("file footer", "the schema is empty") }
        var next = 1
        var leaves = 0
        var children: [ParquetSchemaNode] = []
        for _ in 0..<root.numChildren {
            children.append(try node(elements, &next, &leaves, depth: 1))
        }
        guard next == elements.count else {
            throw ParquetError.corrupt("file footer", "the schema lists \(elements.count) elements but its tree uses \(next)")
        }
        return children
    }

    private static func node(_ elements: [ParquetSchemaElement], _ next: inout Int, _ leaves: inout Int,
                             depth: Int) throws -> ParquetSchemaNode {
        guard depth <= maxDepth else { throw ParquetError.corrupt("file footer", "the schema nests deeper than \(maxDepth)") }
        guard next < elements.count else {
            throw ParquetError.corrupt("file footer", "the schema's child counts need more elements than the \(elements.count) it has")
        }
        let element = elements[next]
        next += 1
        if element.numChildren == 0 {
            guard element.type != nil else {
                throw ParquetError.corrupt("file footer", "schema element \"\(element.name)\" has neither children nor a type")
            }
            defer { leaves += 1 }
            return ParquetSchemaNode(element: element, children: [], leafIndex: leaves)
        }
        guard element.numChildren > 0, element.numChildren <= elements.count - next else {
            throw ParquetError.corrupt("file footer", "schema element \"\(element.name)\" claims \(element.numChildren) children")
        }
        var children: [ParquetSchemaNode] = []
        for _ in 0..<element.numChildren {
            children.append(try node(elements, &next, &leaves, depth: depth + 1))
        }
        return ParquetSchemaNode(element: element, children: children, leafIndex: nil)
    }

    /// The number of leaf columns under `nodes`.
    static func leafCount(_ nodes: [ParquetSchemaNode]) -> Int {
        nodes.reduce(0) { $0 + ($1.children.isEmpty ? 1 : leafCount($1.children)) }
    }

    /// The shape of a top-level field, or a description of why it is not one the reader supports.
    static func shape(of top: ParquetSchemaNode) -> Result<ParquetFieldShape, UnsupportedShape> {
        let topLevel = top.element.repetition == .required ? 0 : 1
        if top.children.isEmpty {
            if top.element.repetition == .repeated {
                // A bare repeated primitive: a list that is never null.
                guard let leaf = leaf(top, definition: 1, repetition: 1) else { return .failure(UnsupportedShape(why: "a column without a type")) }
                return .success(.list(listDefinedAt: 0, elementAt: 1, elementDefinedAt: 1, element: .primitive(leaf)))
            }
            guard let leaf = leaf(top, definition: topLevel, repetition: 0) else { return .failure(UnsupportedShape(why: "a column without a type")) }
            return .success(.primitive(leaf))
        }
        guard top.element.isList, top.element.repetition != .repeated, top.children.count == 1,
              top.children[0].element.repetition == .repeated else {
            return .failure(UnsupportedShape(why: "a group that is not a list (structs and maps at the top level are not read)"))
        }
        let repeated = top.children[0]
        let elementAt = topLevel + 1
        // Three-level lists wrap the element in a repeated group of one child; older writers repeat the
        // element itself (a primitive, or a group named "array" / "<name>_tuple", or with several children).
        let elementNode: ParquetSchemaNode
        let elementDefinedAt: Int
        if repeated.children.count == 1 && repeated.element.name != "array" && repeated.element.name != top.element.name + "_tuple" {
            elementNode = repeated.children[0]
            elementDefinedAt = elementAt + (elementNode.element.repetition == .optional ? 1 : 0)
            if elementNode.element.repetition == .repeated { return .failure(UnsupportedShape(why: "a list of lists")) }
        } else {
            elementNode = repeated
            elementDefinedAt = elementAt
        }
        if elementNode.children.isEmpty {
            guard let leaf = leaf(elementNode, definition: elementDefinedAt, repetition: 1) else { return .failure(UnsupportedShape(why: "a column without a type")) }
            return .success(.list(listDefinedAt: topLevel, elementAt: elementAt, elementDefinedAt: elementDefinedAt,
                                  element: .primitive(leaf)))
        }
        var members: [ParquetLeaf] = []
        for member in elementNode.children {
            guard member.children.isEmpty, member.element.repetition != .repeated,
                  let leaf = leaf(member, definition: elementDefinedAt + (member.element.repetition == .optional ? 1 : 0),
                                  repetition: 1) else {
                return .failure(UnsupportedShape(why: "a list of structs whose member \"\(member.element.name)\" is nested (only primitive members are read)"))
            }
            members.append(leaf)
        }
        return .success(.list(listDefinedAt: topLevel, elementAt: elementAt, elementDefinedAt: elementDefinedAt,
                              element: .structure(members)))
    }

    private static func leaf(_ node: ParquetSchemaNode, definition: Int, repetition: Int) -> ParquetLeaf? {
        guard let index = node.leafIndex, let type = node.element.type else { return nil }
        return ParquetLeaf(column: index, name: node.element.name, type: type, maxDefinition: definition,
                           maxRepetition: repetition)
    }
}
