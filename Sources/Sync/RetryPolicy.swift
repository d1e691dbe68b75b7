/// Exponential backoff with full jitter: attempt n waits a random duration in
/// [0, min(cap, base * 2^n)]. Jitter spreads retries of many workers;
/// the cap bounds how long a recovered cluster waits to be noticed.
public struct RetryPolicy: Sendable, Equatable {
    public var base: Duration
    public var cap: Duration

    public init(base: Duration = .milliseconds(100), cap: Duration = .seconds(5)) {
        self.base = base
        self.cap = cap
    }

    /// The longest delay for the given number of consecutive failures (1...).
    public func ceiling(afterFailures failures: Int) -> Duration {
        guard failures > 0 else { return .zero }
        let exponent = min(failures - 1, 30)
        let scaled = base * (1 << exponent)
        return min(scaled, cap)
    }

    /// A jittered delay; `unit` is a random number in [0, 1).
    public func delay(afterFailures failures: Int, unit: Double) -> Duration {
        let ceiling = ceiling(afterFailures: failures)
        return ceiling * max(0, min(unit, 1))
    }

    public func delay<G: RandomNumberGenerator>(afterFailures failures: Int, using generator: inout G) -> Duration {
        delay(afterFailures: failures, unit: Double.random(in: 0..<1, using: &generator))
    }
}
