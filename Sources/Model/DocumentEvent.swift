import Foundation

/// A document change the sync applied, as recorded in the event log.
public struct DocumentEvent: Sendable, Equatable {
    public enum Operation: String, Sendable {
        case insert, update, delete
    }

    /// Global, strictly increasing, in commit order.
    public var seq: Int64
    public var ref: DocumentRef
    public var operation: Operation
    /// The document after the change (for a delete, the last document), as JSON.
    public var data: String
    /// The document without private fields (users' e-mail), as JSON; nil when
    /// the document has none.
    public var publicData: String?
    /// The top-level fields whose value differs from the state the
    /// document's previous event carried, as a JSON array (an insert: all of
    /// them); nil for a delete.
    public var changed: String?
    /// Their earlier values, as a JSON object (a field that was absent:
    /// null); for a delete, the last document; nil for an insert.
    public var previous: String?
    /// `changed` and `previous` without private fields, for documents that
    /// have some (`publicData` set); nil where those are nil.
    public var publicChanged: String?
    public var publicPrevious: String?
    /// When the newest change behind the event was captured, RFC 3339.
    public var at: String

    public init(seq: Int64, ref: DocumentRef, operation: Operation, data: String, publicData: String?,
                changed: String? = nil, previous: String? = nil, publicChanged: String? = nil, publicPrevious: String? = nil,
                at: String) {
        self.seq = seq
        self.ref = ref
        self.operation = operation
        self.data = data
        self.publicData = publicData
        self.changed = changed
        self.previous = previous
        self.publicChanged = publicChanged
        self.publicPrevious = publicPrevious
        self.at = at
    }
}
