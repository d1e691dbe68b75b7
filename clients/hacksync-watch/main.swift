import ArgumentParser
import Foundation
import Logging
import Model
import NIOCore
import NIOHTTP1
import WebSocket

/// Watches HackSync's live document events in the terminal.
@main
struct Watch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hacksync-watch",
        abstract: "Show HackSync's live document events; reconnects and resumes by itself.",
        discussion: """
            Examples:
              hacksync-watch --channel projects --where hackathon.id=3
              hacksync-watch --channel users --events delete --json
              hacksync-watch --channel projects --changed name,members
              HACKSYNC_PRIVATE_TOKEN=… hacksync-watch --channel users   (e-mail included)
            """)

    @Option(help: "WebSocket URL of a hacksync server.")
    var url = ProcessInfo.processInfo.environment["HACKSYNC_WS_URL"] ?? "ws://127.0.0.1:8080/ws"

    @Option(name: .customLong("channel"), help: "users, hackathons or projects; repeat for several. Default: all three.")
    var channels: [String] = []

    @Option(help: "Comma-separated event types: insert,update,delete. Default: all.")
    var events: String?

    @Option(name: .customLong("where"), help: "Equality filter on a dotted document path, key=value; repeatable.")
    var filters: [String] = []

    @Option(help: "Comma-separated top-level fields: only updates that changed one of them (inserts and deletes still show).")
    var changed: String?

    @Option(help: "Replay events after this seq before going live.")
    var since: Int64?

    @Flag(help: "Print each message as raw JSON.")
    var json = false

    @Option(help: "Token that unlocks private fields. Default: $HACKSYNC_PRIVATE_TOKEN.")
    var token: String = ProcessInfo.processInfo.environment["HACKSYNC_PRIVATE_TOKEN"] ?? ""

    @Option(help: "Stop after this many events (for scripts and tests).")
    var limit: Int?

    func validate() throws {
        for channel in channels where !["users", "hackathons", "projects"].contains(channel) {
            throw ValidationError("unknown channel \(channel); use users, hackathons or projects")
        }
        for filter in filters where !filter.contains("=") {
            throw ValidationError("--where takes key=value, got \(filter)")
        }
    }

    func run() async throws {
        var logger = Logger(label: "hacksync-watch")
        logger.logLevel = .critical
        let state = WatchState(channels: channels.isEmpty ? ["users", "hackathons", "projects"] : channels, since: since)
        let printer = Printer(json: json, color: isatty(STDOUT_FILENO) == 1)
        var headers = HTTPHeaders()
        if !token.isEmpty { headers.add(name: "Authorization", value: "Bearer \(token)") }
        var failures = 0
        while true {
            let countBefore = state.eventCount
            do {
                let requests = state.subscribeRequests(events: events, filters: filters, changed: changed)
                try await WebSocketClient.connect(to: url, headers: headers, logger: logger) { connection, inbound in
                    for request in requests { try await connection.send(text: ByteBuffer(string: request)) }
                    await connection.run(inbound: inbound) { message in
                        guard case .text(let text) = message else { return }
                        let raw = String(buffer: text)
                        let parsed = try? JSONValue.parse(raw)
                        if let parsed, parsed["type"]?.string == "event" { state.saw(parsed) }
                        printer.show(raw, parsed)
                        if let limit, state.eventCount >= limit { await connection.close() }
                    }
                    if let code = connection.closeCode, code != .normal {
                        printer.notice("connection closed (\(code)); resuming from the last seq")
                    }
                }
                if let limit, state.eventCount >= limit { return }
            } catch {
                printer.notice("cannot connect to \(url): \(error)")
            }
            // A connection that delivered events starts the backoff afresh.
            failures = state.eventCount > countBefore ? 1 : failures + 1
            let delay = RetryDelay.seconds(afterFailures: failures)
            printer.notice(String(format: "reconnecting in %.1f s", delay))
            try await Task.sleep(for: .milliseconds(Int(delay * 1000)))
        }
    }
}

/// Exponential backoff with jitter, 0.25 s to 10 s.
enum RetryDelay {
    static func seconds(afterFailures failures: Int) -> Double {
        let ceiling = min(10, 0.25 * pow(2, Double(max(0, failures - 1))))
        return Double.random(in: ceiling / 2...ceiling)
    }
}

/// The last seq seen per channel, so a reconnect resumes without gap or duplicate.
final class WatchState: @unchecked Sendable {
    // @unchecked Sendable: touched by the connection's one message handler and
    // between connections by the main task, never concurrently.
    let channels: [String]
    var lastSeq: [String: Int64] = [:]
    var eventCount = 0

    init(channels: [String], since: Int64?) {
        self.channels = channels
        if let since { for channel in channels { lastSeq[channel] = since } }
    }

    func saw(_ event: JSONValue) {
        eventCount += 1
        if let channel = event["channel"]?.string, let seq = event["seq"]?.number { lastSeq[channel] = Int64(seq) }
    }

    func subscribeRequests(events: String?, filters: [String], changed: String?) -> [String] {
        func list(_ text: String) -> String {
            "[" + text.split(separator: ",").map { jsonQuoted(String($0).trimmingCharacters(in: .whitespaces)) }.joined(separator: ",") + "]"
        }
        return channels.map { channel in
            var fields = [#""type":"subscribe""#, #""channel":\#(jsonQuoted(channel))"#]
            if let events { fields.append(#""events":\#(list(events))"#) }
            if let changed { fields.append(#""changed":\#(list(changed))"#) }
            if !filters.isEmpty {
                let pairs = filters.map { filter -> String in
                    let parts = filter.split(separator: "=", maxSplits: 1).map(String.init)
                    return jsonQuoted(parts[0]) + ":" + Self.jsonLiteral(parts.count > 1 ? parts[1] : "")
                }
                fields.append(#""where":{\#(pairs.joined(separator: ","))}"#)
            }
            if let seq = lastSeq[channel] { fields.append(#""since":\#(seq)"#) }
            return "{" + fields.joined(separator: ",") + "}"
        }
    }

    /// `42` → number, `true`/`false`/`null` → themselves, anything else → string.
    static func jsonLiteral(_ value: String) -> String {
        if Int64(value) != nil || Double(value) != nil { return value }
        if ["true", "false", "null"].contains(value) { return value }
        return jsonQuoted(value)
    }
}

/// Readable, colored one-liners (or raw JSON).
struct Printer: Sendable {
    let json: Bool
    let color: Bool

    func show(_ raw: String, _ message: JSONValue?) {
        if json { return emit(raw) }
        guard let message, let type = message["type"]?.string else { return emit(raw) }
        switch type {
        case "event":
            let event = message["event"]?.string ?? "?"
            let tint = event == "insert" ? "32" : event == "delete" ? "31" : "33"
            let seq = message["seq"].map(\.description) ?? "?"
            let channel = message["channel"]?.string ?? "?"
            let id = message["id"]?.string ?? "?"
            let data = message["data"]
            let title = data?["name"]?.string ?? data?["username"]?.string ?? ""
            var details: [String] = []
            if let username = data?["username"]?.string, data?["name"]?.string != nil { details.append("@" + username) }
            if let hackathon = data?[path: "hackathon.name"]?.string { details.append("in \(hackathon)") }
            if let members = data?["members"]?.array { details.append("\(members.count) members") }
            if let count = data?["participant_count"] { details.append("\(count) participants") }
            if let count = data?["project_count"] { details.append("\(count) projects") }
            if let email = data?["email"]?.string { details.append(email) }
            let time = (message["at"]?.string).map { String($0.dropFirst(11).prefix(8)) } ?? ""
            // An update says what it changed; without that (or for inserts and deletes), the document's summary.
            let summary = ChangeDescription.describe(data: data, changed: message["changed"], previous: message["previous"])
                .map { "— " + $0 } ?? details.joined(separator: " · ")
            emit("\(paint(time, "2")) \(paint("#" + seq, "2")) \(paint(event.padding(toLength: 6, withPad: " ", startingAt: 0), tint)) "
                + "\(channel)/\(id) \(paint(title, "1")) \(summary)")
        case "subscribed":
            emit(paint("subscribed to \(message["channel"]?.string ?? "?")" + (message["since"].map { " since #\($0)" } ?? ""), "2"))
        case "gap":
            emit(paint("gap: " + (message["message"]?.string ?? ""), "35"))
        case "error":
            emit(paint("error: " + (message["message"]?.string ?? ""), "31"))
        default:
            emit(raw)
        }
    }

    func notice(_ text: String) {
        FileHandle.standardError.write(Data((paint(text, "2") + "\n").utf8))
    }

    private func paint(_ text: String, _ code: String) -> String {
        color ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }

    private func emit(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}
