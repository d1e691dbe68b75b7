import Logging
import Search
import Testing

/// The search client against a port nobody listens on: requests must fail
/// at once, not after the request timeout (HTTPClient.shared retries the
/// connection until the deadline: every bulk request took 30 s with the
/// cluster down, and the circuit breaker needed minutes to open).
@Suite struct ElasticsearchClientTests {
    @Test func aRefusedConnectionFailsARequestAtOnce() async throws {
        let refusing = try RefusingPort()
        let client = ElasticsearchClient(url: try ElasticsearchURL("http://127.0.0.1:\(refusing.port)"),
                                         http: ElasticsearchClient.sharedHTTPClient, logger: Logger(label: "test"))
        for _ in 0..<3 {
            let started = ContinuousClock.now
            await #expect(throws: (any Error).self) { _ = try await client.ping(timeout: .seconds(30)) }
            // Far below the 30 s request timeout the bug waited out (bounded loosely: the machine is shared).
            #expect(ContinuousClock.now - started < .seconds(10))
        }
        withExtendedLifetime(refusing) {}
    }
}
