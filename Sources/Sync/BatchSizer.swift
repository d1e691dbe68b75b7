/// How many changes the next batch claims.
///
/// An overloaded index (429 Too Many Requests, 413 Payload Too Large) halves
/// the limit; each batch that filled the limit and was written grows it by a
/// quarter, back to `maximum`. Batches that did not fill the limit say
/// nothing about whether a larger one would pass, so they leave it alone.
public struct BatchSizer: Sendable, Equatable {
    public let minimum: Int
    public let maximum: Int
    public private(set) var limit: Int

    public init(maximum: Int, minimum: Int = 1) {
        self.maximum = max(1, maximum)
        self.minimum = max(1, min(minimum, self.maximum))
        self.limit = self.maximum
    }

    public mutating func overloaded() {
        limit = max(minimum, limit / 2)
    }

    public mutating func written(changes: Int) {
        guard changes >= limit else { return }
        limit = min(maximum, limit + max(1, limit / 4))
    }
}
