import Model

/// Which pending changes a claim takes.
public enum ClaimScope: Equatable, Sendable {
    /// The oldest, with every other pending change of their rows: the backlog lane.
    case oldest
    /// Only changes above this seq, newest first, on their own: the fresh
    /// lane beside a draining backlog.
    case above(Int64)
    /// Newest first, on their own, none of the oldest `count`: the fresh
    /// lane beside a backlog claim of limit `count` that is still reading
    /// (it takes those).
    case newestBeyondOldest(Int)
}

/// Where changes come from and settle: the Postgres change log.
public protocol ChangeStore: Sendable {
    /// Claims up to `limit` unprocessed changes of `scope` (skipping
    /// `excluding`, the ones already in flight) and reads every document
    /// they affect. Returns nil when nothing is pending. Releases the
    /// wake-up first if it was armed: captures stop sending NOTIFYs while
    /// the engine is busy.
    func nextBatch(limit: Int, excluding: Set<Int64>, scope: ClaimScope) async throws -> ChangeBatch?

    /// Called with nothing in flight after a claim found nothing: asks
    /// captures to NOTIFY from now on, unless a capturing transaction is
    /// still open or changes became visible meanwhile (see `WakeUpArming`).
    func armWakeUp() async throws -> WakeUpArming

    /// In one transaction: marks the batch's changes as synced, parks the
    /// rejected documents, records the applied ones and returns the events
    /// they make (documents whose content did not change make none).
    /// Batches are settled one at a time; a document state older than the
    /// one recorded (a batch read earlier, settled later) makes no event.
    func settle(_ batch: ChangeBatch, applied: [DocumentState], rejected: [RejectedDocument]) async throws -> [DocumentEvent]
}

/// The answer to `ChangeStore.armWakeUp()`.
public enum WakeUpArming: Sendable, Equatable {
    /// Nothing is pending and every capture from now on will NOTIFY: sleep
    /// until notified (or until the catch-up interval).
    case armed
    /// Changes became visible since the last claim: claim them.
    case pending
    /// A transaction that captured changes without notifying is still open;
    /// its changes become visible when it commits. Not armed: look again soon.
    case writersInFlight
}

/// Where documents go: the search index.
public protocol DocumentIndex: Sendable {
    /// Writes every document of the batch; returns an outcome per document.
    /// Throws only when the request as a whole failed.
    func write(_ batch: DocumentBatch) async throws -> [DocumentRef: WriteOutcome]
}

/// A document the index refused, parked in the dead-letter table.
public struct RejectedDocument: Sendable, Equatable {
    public var ref: DocumentRef
    public var json: String?
    public var errorType: String
    public var reason: String

    public init(ref: DocumentRef, json: String?, errorType: String, reason: String) {
        self.ref = ref
        self.json = json
        self.errorType = errorType
        self.reason = reason
    }
}
