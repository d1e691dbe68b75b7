/// A kind of search document. The raw value is the alias name (before any
/// configured prefix) and the name used in the change log's SQL.
public enum Entity: String, CaseIterable, Sendable, Codable, Hashable {
    case users
    case hackathons
    case projects
}

/// One search document: its kind and its primary key.
public struct DocumentRef: Hashable, Sendable, CustomStringConvertible {
    public var entity: Entity
    public var id: Int64

    public init(_ entity: Entity, _ id: Int64) {
        self.entity = entity
        self.id = id
    }

    public var description: String { "\(entity.rawValue)/\(id)" }
}
