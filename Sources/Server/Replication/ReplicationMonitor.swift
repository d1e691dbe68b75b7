import Foundation
import Postgres
import Synchronization

/// Health of the logical replication slots of the source database, as the
/// source sees them: every logical slot of this database, how far its
/// subscriber is behind (bytes of WAL not yet confirmed, and seconds), how
/// much WAL it holds back, and whether it stalled.
public final class ReplicationMonitor: Sendable {
    public struct Slot: Encodable, Sendable, Equatable {
        public var slot: String
        /// A WAL sender streams to a subscriber.
        public var active: Bool
        /// startup / catchup / streaming, while active.
        public var state: String?
        /// WAL written on the source that the subscriber has not confirmed.
        public var lagBytes: Int64
        /// Seconds behind: the WAL sender's replay lag while streaming; while
        /// no subscriber is connected and WAL waits, how long that has been so.
        public var lagSeconds: Double
        /// WAL the slot keeps on the source's disk.
        public var retainedBytes: Int64
        /// reserved / extended / unreserved / lost
        public var walStatus: String?
        public var stalled: Bool
        public var problems: [String]
    }

    /// A slot with no subscriber, or with no reply from it, for this long is stalled.
    public let stallAfter: Duration
    /// A slot retaining more WAL than this is flagged.
    public let maxRetainedBytes: Int64
    /// Since when each slot has been inactive with WAL waiting, or silent.
    private let behindSince = Mutex<[String: Date]>([:])

    public init(stallAfter: Duration = .seconds(30), maxRetainedBytes: Int64 = 1 << 30) {
        self.stallAfter = stallAfter
        self.maxRetainedBytes = maxRetainedBytes
    }

    static let query = """
        SELECT s.slot_name, s.active, r.state, s.wal_status,
               greatest(coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), s.confirmed_flush_lsn), 0), 0)::bigint,
               greatest(coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), s.restart_lsn), 0), 0)::bigint,
               extract(epoch FROM r.replay_lag)::float8,
               extract(epoch FROM now() - r.reply_time)::float8
          FROM pg_replication_slots s
          LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid
         WHERE s.slot_type = 'logical' AND s.database = current_database()
         ORDER BY s.slot_name
        """

    /// Reads the slots and judges them; `now` is when they were read.
    public func slots(_ connection: PostgresConnection, now: Date = Date()) async throws -> [Slot] {
        let rows = try await connection.query(Self.query).rows
        return judge(rows.map { row in
            Observation(slot: row.string(0) ?? "", active: row.bool(1) ?? false, state: row.string(2), walStatus: row.string(3),
                        lagBytes: row.int64(4) ?? 0, retainedBytes: row.int64(5) ?? 0,
                        replayLag: row.double(6), sinceReply: row.double(7))
        }, now: now)
    }

    /// What one query row says about a slot.
    public struct Observation: Sendable {
        public var slot: String
        public var active: Bool
        public var state: String?
        public var walStatus: String?
        public var lagBytes: Int64
        public var retainedBytes: Int64
        public var replayLag: Double?
        public var sinceReply: Double?

        public init(slot: String, active: Bool, state: String? = nil, walStatus: String? = nil, lagBytes: Int64, retainedBytes: Int64,
                    replayLag: Double? = nil, sinceReply: Double? = nil) {
            self.slot = slot
            self.active = active
            self.state = state
            self.walStatus = walStatus
            self.lagBytes = lagBytes
            self.retainedBytes = retainedBytes
            self.replayLag = replayLag
            self.sinceReply = sinceReply
        }
    }

    /// The judgement, separate from the query so it can be tested.
    public func judge(_ observations: [Observation], now: Date) -> [Slot] {
        let stallSeconds = stallAfter / .seconds(1)
        return behindSince.withLock { since in
            var seen: [String: Date] = [:]
            let slots = observations.map { o -> Slot in
                // Behind with nobody streaming, or streaming without replies. A
                // subscriber reports at least every wal_receiver_status_interval
                // (10 s) even when idle, so silence shorter than 15 s is normal.
                let silent = o.active && o.lagBytes > 0 && (o.sinceReply ?? 0) > max(stallSeconds, 15)
                let waiting = (!o.active && o.lagBytes > 0) || silent
                let start = waiting ? (since[o.slot] ?? now) : nil
                if let start { seen[o.slot] = start }
                let waited = start.map { now.timeIntervalSince($0) } ?? 0
                var problems: [String] = []
                let stalled = waiting && (silent || waited >= stallSeconds)
                if stalled {
                    problems.append(o.active
                        ? "no reply from the subscriber for \(Int(o.sinceReply ?? 0)) s"
                        : "no subscriber connected for \(Int(waited)) s while \(o.lagBytes) bytes of WAL wait")
                }
                if o.retainedBytes > maxRetainedBytes {
                    problems.append("retains \(o.retainedBytes >> 20) MiB of WAL (limit \(maxRetainedBytes >> 20) MiB)")
                }
                if o.walStatus == "lost" {
                    problems.append("the slot lost WAL it needed: re-create the subscription (hacksync replica drop, then init)")
                } else if o.walStatus == "unreserved" {
                    problems.append("the slot is about to lose WAL (max_slot_wal_keep_size)")
                }
                let lagSeconds = o.active ? (o.lagBytes == 0 ? 0 : (o.replayLag ?? 0)) : waited
                return Slot(slot: o.slot, active: o.active, state: o.state, lagBytes: o.lagBytes, lagSeconds: max(lagSeconds, waited),
                            retainedBytes: o.retainedBytes, walStatus: o.walStatus, stalled: stalled, problems: problems)
            }
            since = seen
            return slots
        }
    }
}
