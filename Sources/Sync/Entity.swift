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

/// A document's state read from Postgres. `json` is nil when the row is gone:
/// the document is deleted from the index.
public struct DocumentState: Sendable, Equatable {
    public var ref: DocumentRef
    public var json: String?

    public init(ref: DocumentRef, json: String?) {
        self.ref = ref
        self.json = json
    }
}

/// Documents read in one snapshot, all carrying the same external version.
/// Versions come from a sequence taken under a lock before the snapshot, so a
/// larger version always means a later (or equal) state.
public struct DocumentBatch: Sendable, Equatable {
    public var version: Int64
    public var documents: [DocumentState]

    public init(version: Int64, documents: [DocumentState]) {
        self.version = version
        self.documents = documents
    }
}
