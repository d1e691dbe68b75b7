import AsyncWakeup
import Logging
import Model
import Postgres
import Realtime
import ServiceLifecycle
import Sync

/// Read-your-writes (`GET /api/wait`): a caller names a transaction and is
/// answered once every change it captured is settled in the index and a
/// refresh made it searchable. Carries out what `WaitBook` decides.
///
/// Waiters never poll one by one: after each settle (every instance hears of
/// it: `sync.settle` notifies `hacksync_events`, and the event follower
/// passes it on), one query looks up every xid still waited for; refreshes
/// are shared by all the waiters they cover. On its own connection, so a
/// wait never queues behind the sync or the admin API.
public actor WriteWaits: Service, WriteWaiting {

    let database: ManagedConnection
    let refresh: @Sendable () async throws -> Void
    let logger: Logger
    /// Looks again without a settle heard of, while xids are pending (a notification can be missed).
    let recheckEvery: Duration
    private let wake = Wakeup()
    private var book: WaitBook
    private var waiting: [WaitBook.WaiterID: CheckedContinuation<WriteWaitResult, Never>] = [:]

    public init(database: ManagedConnection, refreshInterval: Duration = .milliseconds(200), recheckEvery: Duration = .seconds(1),
                logger: Logger, refresh: @escaping @Sendable () async throws -> Void) {
        self.database = database
        self.book = WaitBook(refreshInterval: refreshInterval)
        self.recheckEvery = recheckEvery
        self.logger = logger
        self.refresh = refresh
    }

    /// Waits until the changes of transaction `xid` are searchable, or
    /// `timeout`; a cancelled caller is answered `.cancelled` at once and
    /// forgotten.
    public func wait(xid: UInt64, timeout: Duration) async -> WriteWaitResult {
        let deadline = ContinuousClock.now + min(timeout, WriteWaitResult.maximumTimeout)
        let id = book.register(xid: xid, deadline: deadline)
        return await withTaskCancellationHandler {
            // Runs on the actor before it suspends: the continuation is
            // stored before a cancellation can be handled.
            await withCheckedContinuation { continuation in
                waiting[id] = continuation
                wake.signal()
            }
        } onCancel: {
            Task { await self.cancel(id) }
        }
    }

    private func cancel(_ id: WaitBook.WaiterID) {
        book.cancel(id)
        waiting.removeValue(forKey: id)?.resume(returning: .cancelled)
    }

    /// A batch settled (here or on another instance): look again.
    public nonisolated func settled() {
        wake.signal()
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.step()
                await self.wake.wait(until: await self.nextWake())
            }
        }
        for (_, continuation) in waiting { continuation.resume(returning: .cancelled) }
        waiting = [:]
    }

    private func step() async {
        let pending = book.pendingXids
        if !pending.isEmpty {
            do {
                let rows = try await database.query(
                    "SELECT DISTINCT xid::text FROM sync.changes WHERE processed_at IS NULL AND xid = ANY ($1::xid8[])",
                    [pending.map { String($0) }])
                book.observed(asked: pending, pending: Set(rows.rows.compactMap { $0.string(0).flatMap(UInt64.init) }), at: .now)
            } catch {
                logger.warning("read-your-writes: reading the change log failed", metadata: ["error": "\(error)"])
            }
        }
        for (id, outcome) in book.expire(at: .now) {
            if case .timedOut(let pendingChanges) = outcome { waiting.removeValue(forKey: id)?.resume(returning: .timedOut(pendingChanges: pendingChanges)) }
        }
        if let due = book.refreshDue(), due <= .now {
            book.refreshStarted(at: .now)
            var succeeded = true
            do {
                try await refresh()
            } catch {
                succeeded = false
                logger.warning("read-your-writes: refreshing the indexes failed", metadata: ["error": "\(error)"])
            }
            let released = book.refreshFinished(succeeded: succeeded)
            guard !released.isEmpty else { return }
            let seq = (try? await database.query("SELECT coalesce(max(seq), 0) FROM sync.events").rows.first?.int64(0)) ?? nil
            for id in released { waiting.removeValue(forKey: id)?.resume(returning: .synced(seq: seq ?? 0)) }
            wake.signal()  // a refresh may be due for waiters that settled meanwhile
        }
    }

    private func nextWake() -> ContinuousClock.Instant? {
        let recheck: ContinuousClock.Instant? = book.pendingXids.isEmpty ? nil : .now + recheckEvery
        return [book.nextDeadline, book.refreshDue(), recheck].compactMap { $0 }.min()
    }
}
