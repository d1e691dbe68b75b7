import Logging
import NIOCore
import Synchronization
import WebSocket

extension Bench {
    /// `connections` clients (our client stack, no compression) each send
    /// `messages` text messages of `size` bytes, the next as soon as the echo
    /// of the last arrived: messages/s over all, and the round trips.
    static func echo(url: String, connections: Int, messages: Int, size: Int, logger: Logger) async throws {
        let clock = ContinuousClock()
        let configuration: WebSocketConfiguration = {
            var configuration = WebSocketConfiguration()
            configuration.pingInterval = nil
            return configuration
        }()
        let payload = ByteBuffer(string: String(repeating: "x", count: size))
        let started = clock.now
        let roundTrips = try await withThrowingTaskGroup(of: [Duration].self) { group in
            for _ in 0..<connections {
                group.addTask {
                    try await WebSocketClient.connect(to: url, offerDeflate: false, configuration: configuration, logger: logger) { ws, inbound in
                        let state = Mutex((sentAt: clock.now, roundTrips: [Duration]()))
                        try await ws.send(text: payload)
                        await ws.run(inbound: inbound) { _ in
                            let now = clock.now
                            let more = state.withLock { s -> Bool in
                                s.roundTrips.append(now - s.sentAt)
                                s.sentAt = now
                                return s.roundTrips.count < messages
                            }
                            if more { try? await ws.send(text: payload) } else { await ws.close() }
                        }
                        return state.withLock { $0.roundTrips }
                    }
                }
            }
            return try await group.reduce(into: [Duration]()) { $0 += $1 }
        }
        let seconds = (clock.now - started) / .seconds(1)
        precondition(roundTrips.count == connections * messages, "only \(roundTrips.count) of \(connections * messages) echoes came back")
        print("echo, \(connections) connections × \(messages) messages of \(size) bytes: "
              + "\(Int(Double(roundTrips.count) / seconds)) messages/s; round trip \(summary(roundTrips))")
    }
}
