import Foundation
import Logging
import NIOCore
import NIOHTTP1
import HTTP
import WebSocket

/// For conformance tests only.
///   wsecho server HOST:PORT   our server stack as an echo server on any path
///   wsecho client URL         our client stack against an Autobahn fuzzing server
@main
struct WSEcho {
    static func main() async throws {
        var logger = Logger(label: "wsecho")
        logger.logLevel = .warning
        var configuration = WebSocketConfiguration()
        // Autobahn sends messages up to 16 MiB (cases 9.x).
        configuration.maxFrameSize = 64 << 20
        configuration.maxMessageSize = 64 << 20
        configuration.pingInterval = nil
        let args = Array(CommandLine.arguments.dropFirst())
        switch (args.first, args.count) {
        case ("server", 2):
            let address = try ListenAddress(parsing: args[1])
            var endpoint = WebSocketEndpoint(path: nil) { connection, _ in
                WebSocketChannelHandler.Delegate(onMessage: { connection.enqueue($0) })
            }
            endpoint.configuration = configuration
            var server = HTTPServer(host: address.host, port: address.port, responder: NotFound(), logger: logger)
            server.webSocket = endpoint
            try await server.run()
        case ("client", 2), ("client", 3):
            let parallel = args.count == 3 ? max(1, Int(args[2]) ?? 1) : 1
            try await runAutobahnClient(base: args[1], parallel: parallel, configuration: configuration, logger: logger)
        default:
            FileHandle.standardError.write(Data("usage: wsecho server HOST:PORT | wsecho client ws://HOST:PORT [PARALLEL]\n".utf8))
            exit(2)
        }
    }

    struct NotFound: HTTPResponder {
        func respond(to request: HTTPRequest) async -> HTTPResponse { .error(.notFound, "WebSocket only") }
    }

    /// The Autobahn client protocol: ask for the case count, run every case
    /// echoing what the server sends (`parallel` at a time: the cases are
    /// latency-bound), then ask it to write the report.
    static func runAutobahnClient(base: String, parallel: Int, configuration: WebSocketConfiguration, logger: Logger) async throws {
        let agent = "wsecho"
        let count: Int = try await WebSocketClient.connect(to: "\(base)/getCaseCount", configuration: configuration, logger: logger) { connection, inbound in
            let box = Box()
            await connection.run(inbound: inbound) { message in
                if case .text(let text) = message { box.value = Int(String(buffer: text)) ?? 0 }
            }
            return box.value
        }
        guard count > 0 else {
            FileHandle.standardError.write(Data("wsecho: the fuzzing server reported no cases\n".utf8))
            exit(1)
        }
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<count {
                if index >= parallel { await group.next() }
                group.addTask {
                    do {
                        try await WebSocketClient.connect(to: "\(base)/runCase?case=\(index + 1)&agent=\(agent)", configuration: configuration, logger: logger) { connection, inbound in
                            await connection.run(inbound: inbound) { message in
                                switch message {
                                case .text(let payload): try? await connection.send(text: payload)
                                case .binary(let payload): try? await connection.send(binary: payload)
                                }
                            }
                        }
                    } catch {
                        logger.warning("case failed to connect", metadata: ["case": "\(index + 1)", "error": "\(error)"])
                    }
                }
            }
        }
        try await WebSocketClient.connect(to: "\(base)/updateReports?agent=\(agent)", configuration: configuration, logger: logger) { connection, inbound in
            await connection.close()
            await connection.run(inbound: inbound) { _ in }
        }
        FileHandle.standardError.write(Data("ran \(count) cases\n".utf8))
    }

    final class Box: @unchecked Sendable {
        // @unchecked Sendable: written by the one message handler, read after `run` returned.
        var value = 0
    }
}
