/// What became of one document write.
public enum WriteOutcome: Sendable, Equatable {
    /// Written (or deleted, or already absent).
    case applied
    /// The index already holds a newer version: nothing to do.
    case superseded
    /// Rejected for a reason retrying cannot fix (a mapping error, a
    /// document larger than the cluster takes).
    case rejected(type: String, reason: String)
    /// Failed for a reason a retry may fix (429, 5xx, index missing).
    /// `overloaded`: the index asked for less (429); the batch shrinks.
    case retry(reason: String, overloaded: Bool = false)
}

/// A write the index failed as a whole (no connection, timeout, an HTTP
/// error for the whole request). The batch is retried.
public struct IndexWriteError: Error, CustomStringConvertible, Sendable {
    /// 429 Too Many Requests: send less.
    public var overloaded: Bool
    /// A later attempt may succeed (no connection, timeout, 429, 5xx).
    public var transient: Bool
    public var description: String

    public init(overloaded: Bool, transient: Bool = true, _ description: String) {
        self.overloaded = overloaded
        self.transient = transient
        self.description = description
    }
}
