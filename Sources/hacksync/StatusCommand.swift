import ArgumentParser
import AsyncHTTPClient
import Foundation
import Model
import NIOCore

/// `hacksync status`: the running service's `/api/status` on one screen.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the running service's status: capture, backlog, lag, Elasticsearch, dead letters, index jobs.")

    @Option(help: "The service's admin URL. Default: $HACKSYNC_URL or http://127.0.0.1:8080.")
    var url: String?

    @Flag(help: "Print the JSON as the API returns it.") var json = false

    func run() async throws {
        let base = url ?? ProcessInfo.processInfo.environment["HACKSYNC_URL"] ?? "http://127.0.0.1:8080"
        let text: String
        do {
            let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: base + "/api/status"), timeout: .seconds(10))
            text = String(buffer: try await response.body.collect(upTo: 4 << 20))
            guard response.status == .ok else { throw ValidationError("\(base)/api/status answered \(response.status.code): \(text)") }
        } catch let error as ValidationError {
            throw error
        } catch {
            throw ValidationError("cannot reach the service at \(base): \(error)")
        }
        if json { return print(text) }
        print(Self.render(try JSONValue.parse(text)))
    }

    /// One row per concern; values are read defensively (older services omit some).
    static func render(_ status: JSONValue) -> String {
        func value(_ path: String) -> String {
            switch status[path: path] {
            case .string(let text)?: text
            case .number(let number)?: number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(format: "%.3f", number)
            case .bool(let flag)?: flag ? "yes" : "no"
            case nil, .null?: "—"
            case let other?: other.description
            }
        }
        func seconds(_ path: String) -> String {
            guard case .number(let number)? = status[path: path] else { return "—" }
            return number < 1 ? String(format: "%.0f ms", number * 1000) : String(format: "%.1f s", number)
        }
        var rows: [[String]] = [
            ["capture", "seq \(value("capture.latest_seq")), backlog \(value("capture.backlog")) changes, oldest pending \(seconds("capture.oldest_pending_age_seconds")), listening \(value("capture.listening"))"],
            ["sync", "\(value("sync.changes_synced")) changes, \(value("sync.documents_written")) written, \(value("sync.documents_deleted")) deleted, circuit \(value("sync.circuit")), batch limit \(value("sync.batch_limit"))"],
            ["lag", "last \(seconds("lag.last_seconds")), p50 \(seconds("lag.p50_seconds")), p90 \(seconds("lag.p90_seconds")), p99 \(seconds("lag.p99_seconds"))"],
            ["elasticsearch", status[path: "elasticsearch.reachable"] == .bool(true) ? "reachable, health \(value("elasticsearch.health"))" : "UNREACHABLE: \(value("elasticsearch.error"))"],
            ["dead letters", value("dead_letters")],
            ["websocket", "\(value("web_socket.connections")) connections, \(value("web_socket.messages_sent")) messages sent"],
        ]
        for job in status["index_jobs"]?.array ?? [] {
            let state = job["finished_at"] == .null || job["finished_at"] == nil ? "running" : "done"
            rows.append(["index job", "\(job["entity"]?.string ?? "?") \(job["mode"]?.string ?? "") \(job["phase"]?.string ?? "") (\(state)), \(job["copied"]?.description ?? "0") copied"])
        }
        if case .string(let error)? = status[path: "sync.last_error"] {
            rows.append(["last error", "\(value("sync.last_error_at")): \(error)".clipped(160)])
        }
        let width = rows.map { $0[0].count }.max() ?? 0
        return rows.map { $0[0].padding(toLength: width + 2, withPad: " ", startingAt: 0) + $0[1] }.joined(separator: "\n")
    }
}
