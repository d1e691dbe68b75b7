import Foundation
import Logging
import Postgres
import Synchronization

/// This instance's part in electing the one syncer (`triggers/R__75_leadership.sql`).
///
/// The sync's connection runs `lead(on:)` before its first use: a standby
/// waits there, asking every `retryEvery` to lead, and ends the session of a
/// leader whose lease is older than `lease`. Once it leads, a background
/// task renews the lease every `renewEvery` for as long as the connection
/// lives. The instance counts as leader only while its last renewal is
/// younger than the lease: a leader whose connection hangs reports itself
/// standby by the time a standby may depose it.
public final class Leadership: Sendable {
    public enum Role: String, Sendable { case leader, standby }

    public struct Configuration: Sendable {
        /// How this instance is named in `sync.leader` and the logs.
        public var instance = "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)"
        /// A leader that has not renewed for this long is deposed.
        public var lease: Duration = .seconds(10)
        public var renewEvery: Duration = .seconds(1)
        /// How often a standby asks to lead (bounds the failover after a
        /// leader's process dies and its lock is released).
        public var retryEvery: Duration = .seconds(1)

        public init() {}
    }

    public let configuration: Configuration
    let logger: Logger
    private struct State {
        var renewedAt: ContinuousClock.Instant?
        var epoch: Int64?
        /// One more per connection that led: a renewal task of an earlier,
        /// broken connection must not touch the current one's lease.
        var term = 0
    }
    private let state = Mutex(State())

    public init(configuration: Configuration = .init(), logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    public var role: Role { role(at: .now) }

    /// Leader while the last renewal is younger than the lease.
    func role(at now: ContinuousClock.Instant) -> Role {
        guard let renewedAt = state.withLock({ $0.renewedAt }) else { return .standby }
        return now - renewedAt < configuration.lease ? .leader : .standby
    }

    /// The leader's epoch (one more for every new leader), once this instance led.
    public var epoch: Int64? { state.withLock { $0.epoch } }

    /// Returns once the session of `connection` leads; renews its lease in
    /// the background from then on.
    public func lead(on connection: PostgresConnection) async throws {
        let lease = configuration.lease / .seconds(1)
        var announced = false
        var lastDeposed: Int?
        while true {
            let row = try await connection.query(
                "SELECT leader, epoch, deposed FROM sync.try_lead($1, make_interval(secs => $2))",
                [configuration.instance, lease]).rows.first
            if row?.bool(0) == true {
                let term = state.withLock {
                    $0.renewedAt = .now
                    $0.epoch = row?.int64(1)
                    $0.term += 1
                    return $0.term
                }
                logger.notice("leading: this instance syncs", metadata: ["epoch": "\(row?.int64(1) ?? 0)", "instance": "\(configuration.instance)"])
                renewInBackground(connection, term: term)
                return
            }
            if let deposed = row?.int(2) {
                if deposed != lastDeposed {
                    logger.warning("the leader stopped renewing its lease; its session was ended", metadata: [
                        "pg.pid": "\(deposed)", "lease": "\(configuration.lease)",
                    ])
                    lastDeposed = deposed
                }
                // Its lock is released as the session ends, within milliseconds.
                try await Task.sleep(for: .milliseconds(20))
                continue
            }
            if !announced {
                logger.notice("another instance leads; waiting as standby", metadata: ["instance": "\(configuration.instance)"])
                announced = true
            }
            try await Task.sleep(for: configuration.retryEvery)
        }
    }

    /// Renews the lease until the connection breaks or the lease is lost;
    /// then closes the connection, so nothing more is claimed or settled on
    /// it (the next use opens a new one, which waits as standby).
    private func renewInBackground(_ connection: PostgresConnection, term: Int) {
        Task { [configuration, logger] in
            var problem: String?
            while true {
                try? await Task.sleep(for: configuration.renewEvery)
                do {
                    guard try await connection.query("SELECT sync.renew_lease()").scalar == "t" else {
                        problem = "another instance holds the lease"
                        break
                    }
                } catch let error as PostgresError where error.code == .closed {
                    break  // closed here: shutdown, or the store dropped a broken connection
                } catch {
                    problem = "\(error)"
                    break
                }
                state.withLock { if $0.term == term { $0.renewedAt = .now } }
            }
            state.withLock { if $0.term == term { $0.renewedAt = nil } }
            if let problem {
                logger.error("lost the leader lease; stopping to sync", metadata: ["reason": "\(problem)"])
            }
            await connection.close()
        }
    }
}
