/// One kind of search document, declared once: its fields, where each comes
/// from, how it is searched, and whether it is private. What must agree is
/// derived from it (`DocumentDeclarations`): the index mapping and its hash,
/// and the private-field rule of events, replay and `/api/search`.
public struct DocumentDeclaration: Sendable, Equatable {
    public var entity: Entity
    /// The table whose rows are the documents, keyed by `id`.
    public var table: String
    public var fields: [Field]

    public init(_ entity: Entity, table: String, fields: [Field]) {
        self.entity = entity
        self.table = table
        self.fields = fields
    }

    /// The top-level fields only authorized readers see.
    public var privateFields: Set<String> { Set(fields.filter(\.isPrivate).map(\.name)) }

    /// The dotted paths `/api/search` matches free text against, in
    /// declaration order; never a private field.
    public var searchedPaths: [String] {
        func paths(_ fields: [Field], prefix: String) -> [String] {
            fields.filter { !$0.isPrivate }.flatMap { field -> [String] in
                switch field.source {
                case .column: field.isSearched ? [prefix + field.name] : []
                case .one(_, _, let inner), .many(_, _, let inner): paths(inner, prefix: prefix + field.name + ".")
                case .count, .latest: []
                }
            }
        }
        return paths(fields, prefix: "")
    }

    /// One field of a document (or of an embedded row).
    public struct Field: Sendable, Equatable {
        public var name: String
        public var source: Source
        /// Hidden from anonymous subscribers and from `/api/search` without the token.
        public var isPrivate: Bool
        /// Matched by `/api/search`'s free text (`q`).
        public var isSearched = false

        /// A column of the row, indexed as `type`; free text searches it
        /// when `searched` (by default: a text type).
        public static func column(_ name: String, _ type: SearchType, column: String? = nil,
                                  searched: Bool? = nil, private isPrivate: Bool = false) -> Field {
            Field(name: name, source: .column(column ?? name, type), isPrivate: isPrivate,
                  isSearched: searched ?? (type == .text || type == .textWithKeyword))
        }

        /// The row a foreign key of this row points at (null when it is null).
        public static func one(_ name: String, table: String, foreignKey: String, _ fields: [Field]) -> Field {
            Field(name: name, source: .one(table: table, foreignKey: foreignKey, fields: fields), isPrivate: false)
        }

        /// The rows linked through a join table (`from` references this row,
        /// `to` the embedded one), ordered by id; an empty list when none.
        public static func many(_ name: String, table: String, through: String, from: String, to: String, _ fields: [Field]) -> Field {
            Field(name: name, source: .many(table: table, through: JoinTable(table: through, from: from, to: to), fields: fields), isPrivate: false)
        }

        /// How many rows of `table` reference this row through `foreignKey`.
        public static func count(_ name: String, table: String, foreignKey: String) -> Field {
            Field(name: name, source: .count(table: table, foreignKey: foreignKey), isPrivate: false)
        }

        /// The largest `column` (a timestamp) among the rows of `table` that
        /// reference this row through `foreignKey`; null when none do.
        public static func latest(_ name: String, table: String, foreignKey: String, column: String) -> Field {
            Field(name: name, source: .latest(table: table, foreignKey: foreignKey, column: column), isPrivate: false)
        }
    }

    public struct JoinTable: Sendable, Equatable {
        public var table: String
        public var from: String
        public var to: String
    }

    public indirect enum Source: Sendable, Equatable {
        case column(String, SearchType)
        case one(table: String, foreignKey: String, fields: [Field])
        case many(table: String, through: JoinTable, fields: [Field])
        case count(table: String, foreignKey: String)
        case latest(table: String, foreignKey: String, column: String)
    }

    /// How a value is indexed.
    public enum SearchType: String, Sendable, Equatable {
        /// Exact values (identifiers, tags, URLs); a list column is a list of them.
        case keyword
        /// Full-text.
        case text
        /// Full-text, with a `.keyword` subfield for sorting and exact match.
        case textWithKeyword
        case long
        case integer
        case date
    }
}
