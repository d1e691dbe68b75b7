import AsyncHTTPClient
import Foundation
import NIOCore

/// The real `hacksync serve` binary, run as a child process, for tests that
/// kill it.
final class ServiceProcess: @unchecked Sendable {
    // @unchecked Sendable: `child` is set once by `start()`, from the test's task.
    private let binary: String
    private let arguments: [String]
    private var child: ChildProcess?
    /// The port it bound (it listens on port 0 and logs what it got), once started.
    private(set) var port = 0
    let logFile: URL

    init(fixture: SyncFixture) throws {
        guard let binary = TestEnvironment.binary else { throw TestSetupError("HACKSYNC_TEST_BINARY is not set") }
        self.binary = binary
        logFile = FileManager.default.temporaryDirectory.appendingPathComponent("hacksync-\(fixture.databaseName)-\(UInt32.random(in: 0...UInt32.max)).log")
        arguments = [
            "serve", "--database-url", fixture.databaseURL, "--elasticsearch-url", fixture.elasticsearchURL,
            "--listen", "127.0.0.1:0", "--index-prefix", fixture.prefix, "--catch-up-interval", "0.2",
        ]
    }

    var isRunning: Bool { child?.isRunning ?? false }

    /// Starts the binary and waits until /readyz answers 200.
    func start() async throws {
        child = try ChildProcess(binary, arguments, output: logFile.path)
        try await eventually(timeout: .seconds(20), "hacksync /readyz") {
            guard self.isRunning else { return "exited: \(self.log.suffix(2000))" }
            if self.port == 0 {
                guard let bound = self.log.firstMatch(of: /http\.address=127\.0\.0\.1:(\d+)/).flatMap({ Int($0.1) }) else {
                    return "not listening yet"
                }
                self.port = bound
            }
            let status = try? await self.get("/readyz").status
            return status == 200 ? nil : "status \(status.map(String.init) ?? "none")"
        }
    }

    func get(_ path: String) async throws -> (status: Int, body: String) {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = .GET
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(5))
        let body = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), String(buffer: body))
    }

    func kill9() async {
        guard let child else { return }
        child.signal(SIGKILL)
        _ = await child.wait()
    }

    /// SIGTERM, then waits for the exit status.
    func terminate() async -> Int32 {
        guard let child else { return -1 }
        child.signal(SIGTERM)
        return await child.wait()
    }

    var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    deinit {
        try? FileManager.default.removeItem(at: logFile)
    }
}

/// A port on 127.0.0.1 that refuses connections for as long as this value
/// lives: bound, never listening, so nobody else can take it meanwhile
/// (a port found by bind-then-close could be taken by the time it is used).
final class RefusingPort {
    private let fd: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard bound == 0 else {
            close(fd)
            throw TestSetupError("bind failed")
        }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        self.fd = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(fd) }
}
