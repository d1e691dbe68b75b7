/// The sync loop's decisions, without Postgres, an index or a clock: when to
/// claim a batch and how large, when to wait (for a batch in flight, for an
/// open circuit breaker, for new work), the order in which written batches
/// are settled, and when to back off.
///
/// `SyncEngine` asks `next(at:stopping:)` what to do, does it, and reports
/// back (`claimed`, `foundNothing`, `claimFailed`, `completed`, `settled`,
/// `finishSettling`). Batches are written concurrently (up to the pipeline
/// depth) but settled one at a time in the order they were registered
/// (`claimed`, `claimedFresh`), by one settling round at a time that runs
/// beside the claims and writes: a backlog batch's settle (a large one marks
/// tens of thousands of changes) never holds up the fresh lane. A batch's
/// changes stay claimed until it is settled, and a backlog batch holds its
/// slot of the depth until then. A fresh batch read while a backlog claim
/// ran may carry a newer version than that backlog batch and settle first:
/// the settle's version check keeps a document's events in version order
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
/// within about an interval and one small bulk, not after the backlog. The
/// first claim of a backlog reads (and coalesces) it for a second or more
/// before anyone knows it is one: a backlog claim still running an interval
/// after it started has the fresh lane beside it too, over the changes it
/// does not take (`ClaimScope.newestBeyondOldest`).
public struct SyncPipeline<Payload> {
    public typealias Instant = ContinuousClock.Instant
    public typealias BatchID = Int

    public enum Step: Equatable {
        /// Settle these written batches, in this order, one after another,
        /// beside whatever else runs; report each with `settled`, then the
        /// end of the round with `finishSettling`.
        case settle([Due])
        /// Claim the oldest pending changes, at most `limit`, excluding
        /// `claimedSeqs`: call `claimStarted`, and report the result with
        /// `claimed`, `foundNothing` or `claimFailed`. The claim may run
        /// while the engine settles and writes: one backlog claim at a time,
        /// so the seqs it excludes are every one another batch holds, but
        /// for a fresh claim running beside it.
        case claim(limit: Int)
        /// A backlog is draining, or a backlog claim has read for longer
        /// than the fresh lane's interval: claim changes of `scope` (never
        /// `.oldest`), newest first, at most `limit`, excluding
        /// `claimedSeqs`; report a batch with `claimedFresh`, nothing found
        /// (or a failure) with `freshClaimEnded`. It runs beside the
        /// backlog's claim.
        case claimFresh(ClaimScope, limit: Int)
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
    public struct Due: Equatable {
        public var id: BatchID
        public var payload: Payload
        /// The changes it claimed, and the limit it claimed them with.
        public var changes: Int
        public var claimLimit: Int
        /// Claimed by the fresh lane: says nothing about the batch size.
        public var fresh: Bool
        /// The change-log rows it claimed.
        var seqs: [Int64]

        public static func == (a: Due, b: Due) -> Bool { a.id == b.id }
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
    /// A backlog claim is running, and the limit it claims with.
    public private(set) var claiming = false
    private var claimingLimit = 0
    /// The last backlog claim found only a few changes: the next waits for `gather`.
    private var claimedFew = false
    /// The earliest time of the next backlog claim, while gathering.
    public private(set) var gatherUntil: Instant?
    /// Written batches whose turn has come, waiting for the settling round.
    private var ready: [Due] = []
    /// A settling round runs.
    public private(set) var settling = false
    /// Some batch of the current settling round failed.
    private var roundFailed = false
    /// The last backlog claim filled its limit: more is pending than one batch.
    public private(set) var backlogged = false
    /// While backlogged, the seq up to which the log has been looked at: the
    /// largest seq when the backlog was found, then when each fresh claim
    /// looked. Fresh claims take only changes above it. Backlog claims do
    /// not move it: changes they saw but left pending are still fresh.
    public private(set) var horizon: Int64?
    /// The fresh batches being written (up to `FreshLane.writing`; written
    /// ones may wait to settle behind the backlog's), and when the next
    /// fresh claim is due.
    private var freshWriting = Set<BatchID>()
    private var freshDue: Instant?
    /// Backlog batches claimed and not yet settled: they take the depth's slots.
    private var backlogUnsettled = 0
    /// A fresh claim runs.
    private var freshClaiming = false

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
    public var inFlight: Int { readOrder.count + ready.count }

    /// Written batches are waiting for a settling round, and none runs: `next` returns `.settle`.
    public var settleDue: Bool { !settling && !ready.isEmpty }

    /// What to do now.
    public mutating func next(at now: Instant, stopping: Bool) -> Step {
        if settleDue {
            settling = true
            defer { ready = [] }
            return .settle(ready)
        }
        let busy = !readOrder.isEmpty || !ready.isEmpty || settling || claiming || freshClaiming
        if stopping && !busy { return .finish }
        let admission = breaker.admit(at: now)
        let allowed = switch admission {
        case .flowing: depth
        case .probe: 1
        case .wait: 0
        }
        let mayClaim = !claimExhausted
        claimExhausted = false
        if claimedFew {
            claimedFew = false
            gatherUntil = now + gather
        }
        if let until = gatherUntil, stopping || now >= until { gatherUntil = nil }
        if !stopping && mayClaim && !claiming && gatherUntil == nil && backlogUnsettled < allowed { return .claim(limit: sizer.limit) }
        var wake: Instant? = gatherUntil
        // Fresh claims: while a backlog drains, above its horizon; while a
        // backlog claim reads that is not known to be one yet, above what
        // the fresh lane saw, or else beyond what that claim takes. Also
        // while a backlog claim runs: both may take the same change (the
        // backlog's coalesces a row's pending changes), and each batch reads
        // the documents at their current state under its own version, and
        // the settle records and announces only states newer than the
        // recorded one, so whichever settles second adds nothing stale.
        let freshScope: ClaimScope? = if backlogged, let horizon { .above(horizon) }
            else if claiming { horizon.map { .above($0) } ?? .newestBeyondOldest(claimingLimit) }
            else { nil }
        if let fresh, let scope = freshScope, freshWriting.count < fresh.writing, !freshClaiming, !stopping, case .flowing = admission {
            let due = freshDue ?? now + fresh.interval
            if now >= due {
                freshDue = nil
                freshClaiming = true
                return .claimFresh(scope, limit: fresh.limit)
            }
            freshDue = due
            wake = min(due, wake ?? due)
        }
        guard !busy && gatherUntil == nil else { return .awaitCompletion(until: wake) }
        if case .wait(let until) = admission { return .waitForBreaker(until: until) }
        return .idle
    }

    /// A backlog claim is under way (it counts toward the depth). Unless a
    /// backlog is known, a fresh claim is due if it still runs an interval later.
    public mutating func claimStarted(at now: Instant) {
        claiming = true
        claimingLimit = sizer.limit
        if let fresh, !backlogged { freshDue = now + fresh.interval }
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
        backlogUnsettled += 1
        return add(seqs, limit: limit, fresh: false)
    }

    /// A fresh claim returned a batch; write it and report `completed` with its id.
    public mutating func claimedFresh(_ seqs: [Int64], horizon seen: Int64) -> BatchID {
        freshClaiming = false
        horizon = max(horizon ?? seen, seen)
        let id = add(seqs, limit: fresh?.limit ?? seqs.count, fresh: true)
        freshWriting.insert(id)
        return id
    }

    /// A fresh claim found nothing, or failed: the next is due an interval later.
    public mutating func freshClaimEnded() {
        freshClaiming = false
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
        if !backlogged { freshDue = nil }
        failures += 1
        guard readOrder.isEmpty && ready.isEmpty && !settling else {
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

    /// A batch was written (or failed to be). It is due for settling, in
    /// claim order, once every batch claimed before it is written too.
    public mutating func completed(_ id: BatchID, _ payload: Payload) {
        batches[id]?.payload = payload
        freshWriting.remove(id)
        while let head = readOrder.first, let batch = batches[head], let payload = batch.payload {
            readOrder.removeFirst()
            batches[head] = nil
            ready.append(Due(id: head, payload: payload, changes: batch.seqs.count, claimLimit: batch.claimLimit,
                             fresh: batch.fresh, seqs: batch.seqs))
        }
    }

    /// How settling a due batch ended. `wroteDocuments`: the batch reached
    /// the index (one with no documents proves nothing about it). Returns
    /// the time the breaker opened until, when this failure opened it.
    public mutating func settled(_ due: Due, wroteDocuments: Bool, _ outcome: Outcome, at now: Instant) -> Instant? {
        claimedSeqs.subtract(due.seqs)
        if !due.fresh { backlogUnsettled -= 1 }
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
        settling = false
        guard roundFailed else { return nil }
        roundFailed = false
        failures += 1
        if case .open = breaker.state { return nil }
        return failures
    }
}

extension SyncPipeline.Due: Sendable where Payload: Sendable {}
extension SyncPipeline.Outcome: Sendable {}
