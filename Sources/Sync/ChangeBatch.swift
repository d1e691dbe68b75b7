import Foundation

/// A claimed slice of the change log with the documents it affects, read at
/// claim time.
public struct ChangeBatch: Sendable {
    /// The change-log rows this batch settles once written.
    public var seqs: [Int64]
    /// When the oldest of those changes was captured (for lag).
    public var oldestCapturedAt: Date?
    /// When the newest was captured, as Postgres renders it (the events' time).
    public var newestCapturedAt: String
    public var documents: DocumentBatch
    /// The largest seq in the change log when the claim looked: changes
    /// above it were captured since (the next fresh claim's `after`).
    public var horizon: Int64

    public init(seqs: [Int64], oldestCapturedAt: Date?, newestCapturedAt: String, documents: DocumentBatch, horizon: Int64) {
        self.seqs = seqs
        self.horizon = horizon
        self.oldestCapturedAt = oldestCapturedAt
        self.newestCapturedAt = newestCapturedAt
        self.documents = documents
    }
}
