import Foundation
import Logging
import Search
import Testing

/// The search client against a port nobody listens on: requests must fail
/// at once, not after the request timeout (HTTPClient.shared retries the
/// connection until the deadline: every bulk request took 30 s with the
/// cluster down, and the circuit breaker needed minutes to open).
@Suite struct ElasticsearchClientTests {
    @Test func aRefusedConnectionFailsARequestAtOnce() async throws {
        let port = try closedPort()
        let client = ElasticsearchClient(url: try ElasticsearchURL("http://127.0.0.1:\(port)"),
                                         http: ElasticsearchClient.sharedHTTPClient, logger: Logger(label: "test"))
        for _ in 0..<3 {
            let started = ContinuousClock.now
            await #expect(throws: (any Error).self) { _ = try await client.ping(timeout: .seconds(30)) }
            #expect(ContinuousClock.now - started < .seconds(2))
        }
    }

    func closedPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        try withUnsafeMutablePointer(to: &address) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                guard bind(fd, $0, length) == 0, getsockname(fd, $0, &length) == 0 else { throw POSIXError(.EADDRINUSE) }
            }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
