import Logging
import Postgres
import Synchronization

/// An independent LISTEN connection on the capture channel that counts what
/// the platform's transactions NOTIFY.
final class NotificationCounter: Sendable {
    private let connection: PostgresConnection
    private let received = Mutex(0)
    private let task: Mutex<Task<Void, Never>?> = Mutex(nil)

    private init(connection: PostgresConnection) {
        self.connection = connection
    }

    static func listening(to databaseURL: String, logger: Logger) async throws -> NotificationCounter {
        let connection = try await PostgresConnection.connect(databaseURL, applicationName: "notify-counter", logger: logger)
        let counter = NotificationCounter(connection: connection)
        let stream = try await connection.notifications(channel: "hacksync")
        counter.task.withLock {
            $0 = Task {
                do {
                    for try await _ in stream { counter.received.withLock { $0 += 1 } }
                } catch {}
            }
        }
        return counter
    }

    var count: Int { received.withLock { $0 } }

    /// The count once no notification arrived for `quiet`: a NOTIFY is
    /// delivered after its transaction committed, so a count read right
    /// after a commit may miss it.
    func settledCount(quiet: Duration = .milliseconds(300)) async throws -> Int {
        var last = count
        while true {
            try await Task.sleep(for: quiet)
            let now = count
            if now == last { return now }
            last = now
        }
    }

    func close() async {
        task.withLock { $0?.cancel() }
        await connection.close()
    }
}
