/// The fresh lane of the sync (`SyncPipeline`): while a backlog drains,
/// changes captured since a claim last looked are claimed as small batches
/// of their own, so an edit made meanwhile does not wait for the backlog.
public struct FreshLane: Sendable, Equatable {
    /// Changes one fresh claim takes at most (the newest).
    public var limit: Int
    /// How often a fresh claim is made while a backlog drains.
    public var interval: Duration
    /// Fresh batches being written at once: the next is claimed while the
    /// last waits at a busy index, so an edit does not queue behind it.
    public var writing: Int

    public init(limit: Int = 100, interval: Duration = .milliseconds(100), writing: Int = 2) {
        self.limit = max(1, limit)
        self.interval = interval
        self.writing = max(1, writing)
    }
}
