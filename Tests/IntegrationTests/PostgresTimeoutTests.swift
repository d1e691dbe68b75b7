import Foundation
import Postgres
import Testing

/// Every connection has a query timeout: a slow statement is cancelled by
/// the server, and a server that does not answer at all (a backend frozen
/// with SIGSTOP: its socket stays open, so TCP sees nothing wrong) fails the
/// caller after the timeout and a second's grace, instead of stalling it.
@Suite(.integration) struct PostgresTimeoutTests {
    @Test func aSlowStatementIsCancelledByTheServerAndTheConnectionGoesOn() async throws {
        try await SyncFixture.with(sync: false) { f in
            let connection = try await f.connector.connect(applicationName: "timeout-test", queryTimeout: .seconds(1))
            defer { Task { await connection.close() } }
            let started = ContinuousClock.now
            await #expect { try await connection.query("SELECT pg_sleep(30)") } throws: { error in
                (error as? PostgresError)?.sqlState == "57014"  // query_canceled
            }
            #expect(ContinuousClock.now - started < .seconds(10))
            #expect(connection.isHealthy)
            #expect(try await connection.query("SELECT 1").scalar == "1")
        }
    }

    @Test func aHungServerFailsTheCallerAndTheSharedConnectionIsReplaced() async throws {
        try await SyncFixture.with(sync: false) { f in
            let shared = f.connector.shared(applicationName: "timeout-test", queryTimeout: .seconds(1))
            let pid = try #require(Int32(try await shared.query("SELECT pg_backend_pid()").scalar ?? ""))
            kill(pid, SIGSTOP)
            defer { kill(pid, SIGCONT) }
            let started = ContinuousClock.now
            await #expect { try await shared.query("SELECT 1") } throws: { error in
                (error as? PostgresError)?.code == .timeout
            }
            let waited = ContinuousClock.now - started
            #expect(waited >= .seconds(1) && waited < .seconds(10), "gave up after \(waited)")
            // The frozen backend is left behind; the next caller gets a new one.
            let replacement = try await shared.query("SELECT pg_backend_pid()").scalar
            #expect(replacement != nil && replacement != String(pid))
            await shared.close()
        }
    }
}
