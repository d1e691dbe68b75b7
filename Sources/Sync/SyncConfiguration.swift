/// Tuning of the sync pipeline.
public struct SyncConfiguration: Sendable {
    /// Change-log rows claimed per batch, at most. Under light load a claim
    /// takes what is pending; a backlog drains in batches this large, which
    /// spreads a claim's fixed cost (its coalescing scan of every pending
    /// change) over more changes: a 315,000-change backlog drained at 5,582
    /// changes/s with 2,000 against 3,649 with 500 (null search server,
    /// `make bench-throughput`). Bulk requests are cut by documents and
    /// bytes, not by this.
    public var batchSize: Int = 2000
    /// The smallest batch an overloaded index (429) shrinks it to.
    public var minimumBatchSize: Int = 1
    /// Bulk requests in flight at once. Two lets Postgres read the next batch
    /// while Elasticsearch indexes the previous one; more buys little on a
    /// small cluster and grows the work lost to a crash.
    public var pipelineDepth: Int = 2
    /// While a backlog drains, changes captured since a claim last looked
    /// are claimed as small batches of their own, beside the backlog's, so
    /// an interactive edit does not wait for the backlog. Nil turns it off.
    public var freshLane: FreshLane? = .init()
    /// After a claim that found fewer than `gatherBelow` changes, the next
    /// waits this long, so that a steady stream is synced in batches: every
    /// batch costs a claim, a bulk request and a settle whatever its size
    /// (at 250 changes/s without it, the sync made 240 claims a second).
    public var gather: Duration = .milliseconds(50)
    public var gatherBelow = 200
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
