import Hummingbird
import HummingbirdWebSocket
import HummingbirdWSCompression
import Logging
import NIOCore
import Synchronization

/// The peer in the realtime benchmarks: what the same job looks like on
/// Hummingbird 2 + HummingbirdWebSocket, written the way its documentation
/// shows (one async handler per connection).
///
///   hb-broadcast HOST:PORT
///
/// `/ws`: a message containing `"subscribe"` is answered `{"type":"subscribed"}`
/// and joins the broadcast; any other message is echoed back.
/// `POST /broadcast` (a text body): sent to every subscriber, as the hub
/// sends an event (one payload, written to every connection at once).
/// `GET /readyz`: 200 once listening.
final class Subscribers: Sendable {
    private let writers = Mutex<[UInt64: WebSocketOutboundWriter]>([:])
    private let nextID = Atomic<UInt64>(0)

    func add(_ writer: WebSocketOutboundWriter) -> UInt64 {
        let id = nextID.add(1, ordering: .relaxed).newValue
        writers.withLock { $0[id] = writer }
        return id
    }

    func remove(_ id: UInt64) {
        writers.withLock { _ = $0.removeValue(forKey: id) }
    }

    /// Writes `text` to every subscriber concurrently; returns how many.
    func broadcast(_ text: String) async -> Int {
        let all = writers.withLock { Array($0.values) }
        await withDiscardingTaskGroup { group in
            for writer in all {
                group.addTask { try? await writer.write(.text(text)) }
            }
        }
        return all.count
    }
}

@main
struct HBBroadcast {
    static func main() async throws {
        let arguments = CommandLine.arguments
        guard arguments.count == 2, let colon = arguments[1].lastIndex(of: ":"),
              let port = Int(arguments[1][arguments[1].index(after: colon)...]) else {
            print("usage: hb-broadcast HOST:PORT")
            return
        }
        let host = String(arguments[1][..<colon])
        var logger = Logger(label: "hb-broadcast")
        logger.logLevel = .warning
        let subscribers = Subscribers()

        let router = Router()
        router.get("/readyz") { _, _ in "ok" }
        router.post("/broadcast") { request, _ -> String in
            let body = try await request.body.collect(upTo: 1 << 20)
            return String(await subscribers.broadcast(String(buffer: body)))
        }
        let app = Application(
            router: router,
            server: .http1WebSocketUpgrade(
                configuration: .init(ws: .init(
                    maxFrameSize: 1 << 20,
                    extensions: [.perMessageDeflate(noContextTakeover: true, maxDecompressedFrameSize: 1 << 20, minFrameSizeToCompress: 128)],
                    autoPing: .enabled(timePeriod: .seconds(30))))
            ) { request, _, _ in
                guard request.path == "/ws" else { return .dontUpgrade }
                return .upgrade([:]) { inbound, outbound, _ in
                    var id: UInt64?
                    defer { if let id { subscribers.remove(id) } }
                    for try await message in inbound.messages(maxSize: 1 << 20) {
                        switch message {
                        case .text(let text) where id == nil && text.contains("\"subscribe\""):
                            id = subscribers.add(outbound)
                            try await outbound.write(.text(#"{"type":"subscribed"}"#))
                        case .text(let text):
                            try await outbound.write(.text(text))
                        case .binary(let bytes):
                            try await outbound.write(.binary(bytes))
                        }
                    }
                }
            },
            configuration: .init(address: .hostname(host, port: port)),
            logger: logger)
        try await app.runService()
    }
}
