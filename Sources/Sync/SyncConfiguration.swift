/// Tuning of the sync pipeline.
public struct SyncConfiguration: Sendable {
    /// Change-log rows claimed per batch. A user rename can fan out to many
    /// project documents; 500 changes keeps a bulk body in the low megabytes
    /// while amortising round trips under bursts.
    public var batchSize: Int = 500
    /// The smallest batch an overloaded index (429, 413) shrinks it to.
    public var minimumBatchSize: Int = 1
    /// Bulk requests in flight at once. Two lets Postgres read the next batch
    /// while Elasticsearch indexes the previous one; more buys little on a
    /// small cluster and grows the work lost to a crash.
    public var pipelineDepth: Int = 2
    /// While a backlog drains, changes captured since a claim last looked
    /// are claimed as small batches of their own, beside the backlog's, so
    /// an interactive edit does not wait for the backlog. Nil turns it off.
    public var freshLane: FreshLane? = .init()
    /// How often the change log is scanned without a notification. Covers
    /// NOTIFYs that were never received (listener reconnecting, service down).
    public var catchUpInterval: Duration = .seconds(1)
    /// When an empty claim lingers, arms the wake-up or sleeps.
    public var idle = IdleSchedule.Configuration()
    /// Backoff after a failed batch (Elasticsearch or Postgres unavailable).
    public var retry = RetryPolicy()
    /// Stops reading and sending while the index keeps failing, then probes it.
    public var circuitBreaker = CircuitBreaker()

    public init() {}
}
