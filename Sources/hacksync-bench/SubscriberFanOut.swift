import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import Postgres
import Synchronization
import WebSocket

extension Bench {
    /// What makes a round's message: a commit our sync turns into an event,
    /// or a POST to a peer server that broadcasts its body as it is.
    enum Trigger {
        case commit(db: String)
        case broadcast(url: String)
    }

    /// Opens `count` subscribers (our client stack) on one user's document,
    /// then causes `rounds` messages, one at a time, and records when each
    /// subscriber received each, from the moment the trigger returned
    /// (COMMIT) or was sent (the broadcast POST).
    static func subscribers(trigger: Trigger, url: String, count: Int, rounds: Int, logger: Logger) async throws {
        var database: PostgresConnection?
        var id: Int64 = 1
        if case .commit(let db) = trigger {
            let connection = try await PostgresConnection.connect(db, applicationName: "bench", logger: logger)
            id = try await connection.query("SELECT min(id) FROM users").rows[0].int64(0)!
            database = connection
        }
        let clock = ContinuousClock()
        final class Recorder: Sendable {
            let received = Mutex<[String: [ContinuousClock.Instant]]>([:])
            let open = Mutex<[WebSocketConnection]>([])
            let ready = Mutex(0)
        }
        let recorder = Recorder()
        let configuration: WebSocketConfiguration = {
            var configuration = WebSocketConfiguration()
            configuration.pingInterval = nil
            return configuration
        }()
        let request = ByteBuffer(string: #"{"type":"subscribe","channel":"users","where":{"id":\#(id)}}"#)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<count {
                group.addTask {
                    try await WebSocketClient.connect(to: url, configuration: configuration, logger: logger) { ws, inbound in
                        recorder.open.withLock { $0.append(ws) }
                        try await ws.send(text: request)
                        await ws.run(inbound: inbound) { message in
                            guard case .text(let text) = message else { return }
                            let body = String(buffer: text)
                            if body.contains(#""type":"subscribed""#) { recorder.ready.withLock { $0 += 1 }; return }
                            guard let range = body.range(of: "bench-round-") else { return }
                            let tag = String(body[range.lowerBound...].prefix { $0 != "\"" })
                            let now = clock.now
                            recorder.received.withLock { $0[tag, default: []].append(now) }
                        }
                    }
                }
            }
            while recorder.ready.withLock({ $0 }) < count { try await Task.sleep(for: .milliseconds(50)) }
            // Commit → each subscriber; split at the first subscriber to
            // receive the round: before it, the sync (or the POST) and the
            // server's first write; after it, the fan-out to everyone else.
            var latencies: [Duration] = [], toFirst: [Duration] = [], fanOut: [Duration] = [], hub: [Duration] = []
            // Our server's own figure for the same rounds (publish → every frame handed to its socket).
            let metrics = url.replacingOccurrences(of: "ws://", with: "http://").replacingOccurrences(of: "/ws", with: "/metrics")
            for round in 0..<rounds {
                let tag = "bench-round-\(round)-\(UInt32.random(in: 0...UInt32.max))"
                let hubBefore = if case .commit = trigger { try await fanOutTotals(metrics) } else { (sum: 0.0, count: 0.0) }
                let started: ContinuousClock.Instant
                switch trigger {
                case .commit:
                    try await database!.query("UPDATE users SET name = $1 WHERE id = $2", [tag, id])
                    started = clock.now
                case .broadcast(let url):
                    var post = HTTPClientRequest(url: url)
                    post.method = .POST
                    post.body = .bytes(ByteBuffer(string: peerEvent(tag: tag, seq: round + 1)))
                    started = clock.now
                    let response = try await HTTPClient.shared.execute(post, timeout: .seconds(30))
                    precondition(response.status == .ok, "the broadcast answered \(response.status)")
                }
                let deadline = started + .seconds(30)
                while recorder.received.withLock({ $0[tag]?.count ?? 0 }) < count && clock.now < deadline {
                    try await Task.sleep(for: .milliseconds(2))
                }
                let times = recorder.received.withLock { $0[tag] ?? [] }
                precondition(times.count == count, "only \(times.count) of \(count) subscribers got round \(round)")
                latencies += times.map { $0 - started }
                let first = times.min()!
                toFirst.append(first - started)
                fanOut += times.map { $0 - first }
                if case .commit = trigger {
                    let hubAfter = try await fanOutTotals(metrics)
                    if hubAfter.count > hubBefore.count {
                        hub.append(.seconds((hubAfter.sum - hubBefore.sum) / (hubAfter.count - hubBefore.count)))
                    }
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            let cause = if case .commit = trigger { "commit" } else { "broadcast POST" }
            print("\(cause) → event at each of \(count) subscribers, \(rounds) rounds: \(summary(latencies))")
            print("  \(cause) → first subscriber: \(summary(toFirst))")
            print("  first subscriber → each (the fan-out): \(summary(fanOut))")
            if !hub.isEmpty { print("  the server's publish → last frame handed to a socket (\(hub.count) rounds): \(summary(hub))") }
            for ws in recorder.open.withLock({ $0 }) { await ws.close() }
            try await group.waitForAll()
        }
        await database?.close()
    }

    /// The fan-out histogram's sum (seconds) and count, from our /metrics.
    static func fanOutTotals(_ url: String) async throws -> (sum: Double, count: Double) {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
        let text = String(buffer: try await response.body.collect(upTo: 8 << 20))
        func value(_ name: String) -> Double {
            text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ")[1]) } ?? 0
        }
        return (value("hacksync_realtime_fanout_seconds_sum"), value("hacksync_realtime_fanout_seconds_count"))
    }

    /// An event shaped and sized like one of ours for a renamed user (about
    /// 420 bytes), for a peer that broadcasts what it is given.
    static func peerEvent(tag: String, seq: Int) -> String {
        let bio = String(repeating: "Builds developer tools and hackathon projects. ", count: 4)
        return #"{"type":"event","seq":\#(seq),"channel":"users","event":"update","id":"1","data":{"id":1,"username":"user1","name":"\#(tag)","bio":"\#(bio)","created_at":"2026-11-20T10:00:00Z"},"changed":["name"],"previous":{"name":"before"},"at":"2026-12-03T10:00:00.000000Z"}"#
    }
}
