/// The sync loop's decisions, without Postgres, an index or a clock: when to
/// claim a batch and how large, when to wait (for a batch in flight, for an
/// open circuit breaker, for new work), the order in which written batches
/// are settled, and when to back off.
///
/// `SyncEngine` asks `next(at:stopping:)` what to do, does it, and reports
/// back (`claimed`, `foundNothing`, `claimFailed`, `completed`, `settled`,
/// `finishSettling`). Batches are written concurrently (up to the pipeline
/// depth) but settled one at a time in the order they were registered
/// (`claimed`, `claimedFresh`); a fresh batch read while a backlog claim ran
/// may carry a newer version than that backlog batch and settle first: the
/// settle's version check keeps a document's events in version order
/// (R__80_settle.sql). `Payload` is whatever the engine keeps of a written
/// batch until its turn to settle.
///
/// Gathering: a claim that found only a few changes (under `gatherBelow`)
/// is followed by the next after `gather` at the earliest, so that changes
/// arriving at a steady rate are read, written and settled in batches, not
/// one or two at a time: each batch costs a claim, a bulk request and a
/// settle whatever its size. The first change after a quiet spell is not
/// delayed; the ones right behind it wait up to `gather`.
///
/// No head-of-line blocking: while a backlog drains (a claim filled its
/// limit), the changes captured since a claim last looked (above its
/// horizon) are claimed every `FreshLane.interval` as a small batch of their
/// own, beside the backlog's batches, so an edit made meanwhile is written
/// within about an interval and one small bulk, not after the backlog.
public struct SyncPipeline<Payload> {
    public typealias Instant = ContinuousClock.Instant
    public typealias BatchID = Int

    public enum Step: Equatable {
        /// Claim the oldest pending changes, at most `limit`, excluding
        /// `claimedSeqs`: call `claimStarted`, and report the result with
        /// `claimed`, `foundNothing` or `claimFailed`. The claim may run
        /// while the engine settles and writes: one claim at a time, so the
        /// seqs it excludes are every one another batch holds.
        case claim(limit: Int)
        /// A backlog is draining: claim only changes above `after`, newest
        /// first, at most `limit`, excluding `claimedSeqs`; report a batch
        /// with `claimedFresh`. Finding nothing (or failing) needs no
        /// report: the next fresh claim is due an interval later.
        case claimFresh(after: Int64, limit: Int)
        /// Wait for the next batch in flight to be written, or until `until`
        /// (then ask again: a fresh claim is due).
        case awaitCompletion(until: Instant?)
        /// Nothing in flight and the circuit breaker is open: wait until then
        /// (a signal only re-checks; shutdown ends the wait).
        case waitForBreaker(until: Instant)
        /// Nothing in flight and nothing found: linger, arm or sleep, as `idle` decides.
        case idle
        /// Shutting down and nothing left in flight.
        case finish
    }

    /// How a written batch ended.
    public enum Outcome: Equatable {
        case settled
        /// The index failed the write or some of its documents.
        case indexFailed(overloaded: Bool)
        /// Postgres failed to record the settlement.
        case storeFailed
    }

    /// A written batch whose turn to settle has come.
    public struct Due {
        public var id: BatchID
        public var payload: Payload
        /// The changes it claimed, and the limit it claimed them with.
        public var changes: Int
        public var claimLimit: Int
        /// Claimed by the fresh lane: says nothing about the batch size.
        public var fresh: Bool
    }

    private struct InFlight {
        var seqs: [Int64]
        var claimLimit: Int
        var fresh: Bool
        var payload: Payload?
    }

    public let depth: Int
    public let fresh: FreshLane?
    /// How long to gather after a small claim, and what counts as small.
    public let gather: Duration
    public let gatherBelow: Int
    public private(set) var breaker: CircuitBreaker
    public private(set) var sizer: BatchSizer
    /// What to do when there is nothing to claim (the engine drives it while idle).
    public var idle: IdleSchedule
    /// Consecutive failed rounds: the backoff grows with it.
    public private(set) var failures = 0
    /// Change-log rows claimed and not yet settled: the next claim skips them.
    public private(set) var claimedSeqs = Set<Int64>()
    private var batches: [BatchID: InFlight] = [:]
    /// Batch ids in the order they were claimed.
    private var readOrder: [BatchID] = []
    private var nextID = 0
    /// The last claim found nothing or failed: wait once before claiming again.
    private var claimExhausted = false
    /// A backlog claim is running.
    public private(set) var claiming = false
    /// The last backlog claim found only a few changes: the next waits for `gather`.
    private var claimedFew = false
    /// The earliest time of the next backlog claim, while gathering.
    public private(set) var gatherUntil: Instant?
    /// Some batch of the current settling round failed.
    private var roundFailed = false
    /// The last backlog claim filled its limit: more is pending than one batch.
    public private(set) var backlogged = false
    /// While backlogged, the seq up to which the log has been looked at: the
    /// largest seq when the backlog was found, then when each fresh claim
    /// looked. Fresh claims take only changes above it. Backlog claims do
    /// not move it: changes they saw but left pending are still fresh.
    public private(set) var horizon: Int64?
    /// The fresh batch being written (one at a time; written ones may wait
    /// to settle behind the backlog's), and when the next fresh claim is due.
    private var freshWriting: BatchID?
    private var freshDue: Instant?
    /// Fresh batches claimed and not yet settled.
    private var freshInFlight = 0

    public init(depth: Int, breaker: CircuitBreaker, sizer: BatchSizer, idle: IdleSchedule, fresh: FreshLane? = nil,
                gather: Duration = .zero, gatherBelow: Int = 0) {
        self.depth = max(1, depth)
        self.fresh = fresh
        self.gather = gather
        self.gatherBelow = gatherBelow
        self.breaker = breaker
        self.sizer = sizer
        self.idle = idle
    }

    /// Batches claimed and not yet settled.
    public var inFlight: Int { readOrder.count }

    /// What to do now.
    public mutating func next(at now: Instant, stopping: Bool) -> Step {
        if stopping && readOrder.isEmpty && !claiming { return .finish }
        let admission = breaker.admit(at: now)
        let allowed = switch admission {
        case .flowing: depth
        case .probe: 1
        case .wait: 0
        }
        let mayClaim = !claimExhausted
        claimExhausted = false
        let backlogInFlight = readOrder.count - freshInFlight
        if claimedFew {
            claimedFew = false
            gatherUntil = now + gather
        }
        if let until = gatherUntil, stopping || now >= until { gatherUntil = nil }
        if !stopping && mayClaim && !claiming && gatherUntil == nil && backlogInFlight < allowed { return .claim(limit: sizer.limit) }
        var wake: Instant? = gatherUntil
        // Also while a backlog claim runs. Both may take the same change (the
        // backlog's coalesces a row's pending changes): each batch reads the
        // documents at their current state under its own version, and the
        // settle records and announces only states newer than the recorded
        // one, so whichever settles second adds nothing stale.
        if let fresh, let horizon, backlogged, freshWriting == nil, !stopping, case .flowing = admission {
            let due = freshDue ?? now + fresh.interval
            if now >= due {
                freshDue = nil
                return .claimFresh(after: horizon, limit: fresh.limit)
            }
            freshDue = due
            wake = min(due, wake ?? due)
        }
        guard readOrder.isEmpty && !claiming && gatherUntil == nil else { return .awaitCompletion(until: wake) }
        if case .wait(let until) = admission { return .waitForBreaker(until: until) }
        return .idle
    }

    /// A backlog claim is under way (it counts toward the depth).
    public mutating func claimStarted() {
        claiming = true
    }

    /// A backlog claim returned a batch; write it and report `completed`
    /// with its id. `horizon`: the largest seq in the log when it looked.
    public mutating func claimed(_ seqs: [Int64], limit: Int, horizon seen: Int64? = nil) -> BatchID {
        claiming = false
        backlogged = seqs.count >= limit
        claimedFew = seqs.count < gatherBelow
        if backlogged {
            if horizon == nil { horizon = seen }
        } else {
            endBacklog()
        }
        return add(seqs, limit: limit, fresh: false)
    }

    /// A fresh claim returned a batch; write it and report `completed` with its id.
    public mutating func claimedFresh(_ seqs: [Int64], horizon seen: Int64) -> BatchID {
        horizon = max(horizon ?? seen, seen)
        let id = add(seqs, limit: fresh?.limit ?? seqs.count, fresh: true)
        freshWriting = id
        freshInFlight += 1
        return id
    }

    /// A backlog claim found nothing pending.
    public mutating func foundNothing() {
        claiming = false
        claimExhausted = true
        endBacklog()
    }

    private mutating func endBacklog() {
        backlogged = false
        horizon = nil
        freshDue = nil
    }

    private mutating func add(_ seqs: [Int64], limit: Int, fresh: Bool) -> BatchID {
        idle.claimed()
        let id = nextID
        nextID += 1
        claimedSeqs.formUnion(seqs)
        batches[id] = InFlight(seqs: seqs, claimLimit: limit, fresh: fresh)
        readOrder.append(id)
        return id
    }

    /// A claim failed. Returns the failure count to back off with when
    /// nothing is in flight; otherwise the engine waits for what is.
    public mutating func claimFailed() -> Int? {
        claiming = false
        failures += 1
        guard readOrder.isEmpty else {
            claimExhausted = true
            return nil
        }
        return failures
    }

    /// Arming the wake-up (or another idle step) failed: the failure count to back off with.
    public mutating func idleFailed() -> Int {
        failures += 1
        return failures
    }

    /// A batch was written (or failed to be). Returns the batches now due
    /// for settling, in claim order: none while an earlier one is still in
    /// flight. Report each one's `settled`, then `finishSettling`.
    public mutating func completed(_ id: BatchID, _ payload: Payload) -> [Due] {
        batches[id]?.payload = payload
        if id == freshWriting { freshWriting = nil }
        var due: [Due] = []
        while let head = readOrder.first, let batch = batches[head], let payload = batch.payload {
            readOrder.removeFirst()
            batches[head] = nil
            if batch.fresh { freshInFlight -= 1 }
            claimedSeqs.subtract(batch.seqs)
            due.append(Due(id: head, payload: payload, changes: batch.seqs.count, claimLimit: batch.claimLimit, fresh: batch.fresh))
        }
        return due
    }

    /// How settling a due batch ended. `wroteDocuments`: the batch reached
    /// the index (one with no documents proves nothing about it). Returns
    /// the time the breaker opened until, when this failure opened it.
    public mutating func settled(_ due: Due, wroteDocuments: Bool, _ outcome: Outcome, at now: Instant) -> Instant? {
        switch outcome {
        case .settled:
            failures = 0
            if wroteDocuments { breaker.recordSuccess() }
            if !due.fresh { sizer.written(changes: due.changes, claimedWith: due.claimLimit) }
            return nil
        case .indexFailed(let overloaded):
            roundFailed = true
            if overloaded && !due.fresh { sizer.overloaded(claimedWith: due.claimLimit) }
            if breaker.recordFailure(at: now), case .open(let until) = breaker.state { return until }
            return nil
        case .storeFailed:
            roundFailed = true
            return nil
        }
    }

    /// The settling round is over. Returns the failure count to back off
    /// with when a batch failed, unless the open breaker does the waiting.
    public mutating func finishSettling() -> Int? {
        guard roundFailed else { return nil }
        roundFailed = false
        failures += 1
        if case .open = breaker.state { return nil }
        return failures
    }
}
