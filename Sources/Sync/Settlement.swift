import Model

/// What to do with a batch once the index answered: pure logic, so every
/// combination of outcomes is unit-tested without a cluster.
public struct Settlement: Sendable, Equatable {
    /// Documents the index refused for good; they go to the dead-letter table.
    public var rejected: [RejectedDocument]
    /// Documents now current in the index (their dead-letter entries resolve).
    public var applied: [DocumentState]
    /// Reasons some documents must be written again; non-empty means the
    /// batch's changes stay pending and the batch is retried after a backoff.
    public var retryReasons: [String]

    /// Some document was refused because the index is overloaded (429).
    public var overloaded: Bool

    public var needsRetry: Bool { !retryReasons.isEmpty }

    public init(batch: DocumentBatch, outcomes: [DocumentRef: WriteOutcome]) {
        rejected = []
        applied = []
        retryReasons = []
        overloaded = false
        for document in batch.documents {
            switch outcomes[document.ref] {
            case .applied?, .superseded?:
                applied.append(document)
            case .rejected(let type, let reason)?:
                rejected.append(RejectedDocument(ref: document.ref, json: document.json, errorType: type, reason: reason))
            case .retry(let reason, let overloaded)?:
                retryReasons.append("\(document.ref): \(reason)")
                self.overloaded = self.overloaded || overloaded
            case nil:
                retryReasons.append("\(document.ref): no result from the index")
            }
        }
    }
}
