import Model

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
