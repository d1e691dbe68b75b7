/// How many changes the next batch claims.
///
/// An overloaded index (429 Too Many Requests) halves
/// the limit the refused batch was claimed with; each batch that filled the
/// current limit and was written grows it by a quarter, back to `maximum`.
/// Batches that did not fill the limit say nothing about whether a larger
/// one would pass, so they leave it alone. With two batches in flight, both
/// refused, the limit halves once, not twice; a batch claimed under an
/// older, larger limit does not grow the new one.
public struct BatchSizer: Sendable, Equatable {
    public let minimum: Int
    public let maximum: Int
    public private(set) var limit: Int

    public init(maximum: Int, minimum: Int = 1) {
        self.maximum = max(1, maximum)
        self.minimum = max(1, min(minimum, self.maximum))
        self.limit = self.maximum
    }

    public mutating func overloaded(claimedWith claimLimit: Int) {
        limit = max(minimum, min(limit, claimLimit / 2))
    }

    public mutating func written(changes: Int, claimedWith claimLimit: Int) {
        guard claimLimit == limit, changes >= limit else { return }
        limit = min(maximum, limit + max(1, limit / 4))
    }
}
