/// Stops sending to an index that keeps failing, then probes it.
///
/// - closed: batches flow; `threshold` consecutive failed writes open it.
/// - open: nothing is read or sent until the cool-down has passed. Each
///   opening without a success in between doubles the cool-down, up to
///   `maximumCooldown`, so a long outage costs one probe every half minute
///   instead of a claim, a read and a bulk request per backoff.
/// - half-open: one batch at a time probes the index; success closes the
///   breaker, failure opens it again.
///
/// Pure state: the engine passes the time, so every transition is unit-tested.
public struct CircuitBreaker: Sendable, Equatable {
    public typealias Instant = ContinuousClock.Instant

    public enum State: Sendable, Equatable {
        case closed
        case open(until: Instant)
        case halfOpen
    }

    /// What the engine may send now.
    public enum Admission: Sendable, Equatable {
        /// The full pipeline.
        case flowing
        /// One batch in flight, to test the index.
        case probe
        /// Nothing until then.
        case wait(until: Instant)
    }

    public var threshold: Int
    public var cooldown: Duration
    public var maximumCooldown: Duration
    public private(set) var state: State = .closed
    public private(set) var consecutiveFailures = 0
    /// Openings since the last success.
    public private(set) var openings = 0

    public init(threshold: Int = 5, cooldown: Duration = .seconds(1), maximumCooldown: Duration = .seconds(30)) {
        self.threshold = max(1, threshold)
        self.cooldown = cooldown
        self.maximumCooldown = maximumCooldown
    }

    /// Moves an expired open state to half-open and says what may be sent.
    public mutating func admit(at now: Instant) -> Admission {
        switch state {
        case .closed:
            return .flowing
        case .halfOpen:
            return .probe
        case .open(let until):
            if now < until { return .wait(until: until) }
            state = .halfOpen
            return .probe
        }
    }

    public mutating func recordSuccess() {
        state = .closed
        consecutiveFailures = 0
        openings = 0
    }

    /// Returns true when this failure opened the breaker.
    @discardableResult
    public mutating func recordFailure(at now: Instant) -> Bool {
        consecutiveFailures += 1
        switch state {
        case .halfOpen:
            open(at: now)
            return true
        case .closed where consecutiveFailures >= threshold:
            open(at: now)
            return true
        case .closed, .open:
            return false
        }
    }

    /// The cool-down of the next opening.
    public var nextCooldown: Duration {
        min(maximumCooldown, cooldown * (1 << min(openings, 20)))
    }

    public var stateName: String {
        switch state {
        case .closed: "closed"
        case .open: "open"
        case .halfOpen: "half-open"
        }
    }

    private mutating func open(at now: Instant) {
        state = .open(until: now + nextCooldown)
        openings += 1
    }
}
