import ArgumentParser
import AsyncHTTPClient
import Foundation
import Model
import NIOCore

/// `hacksync wait --xid N`: waits until a transaction's changes are
/// searchable (the running service's `/api/wait`). Exit status 0 when they
/// are, 1 at the timeout; the answer's JSON on standard output.
struct WaitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wait",
        abstract: "Wait until a transaction's changes are in the index and searchable (read-your-writes).",
        discussion: "Read the transaction id with SELECT pg_current_xact_id() inside the transaction, commit, then run this.")

    @Option(help: "The transaction id, as pg_current_xact_id() gives it.") var xid: UInt64
    @Option(help: "How long to wait at most: 2s, 500ms (at most 30s).") var timeout = "2s"
    @Option(help: "The service's admin URL. Default: $HACKSYNC_URL or http://127.0.0.1:8080.") var url: String?

    func run() async throws {
        let base = url ?? ProcessInfo.processInfo.environment["HACKSYNC_URL"] ?? "http://127.0.0.1:8080"
        let path = "/api/wait?xid=\(xid)&timeout=\(timeout.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? timeout)"
        let (status, text): (UInt, String)
        do {
            let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: base + path), timeout: .seconds(40))
            (status, text) = (response.status.code, String(buffer: try await response.body.collect(upTo: 1 << 20)))
        } catch {
            throw ValidationError("cannot reach the service at \(base): \(error)")
        }
        switch status {
        case 200: print(text)
        case 504:
            print(text)
            throw ExitCode(1)
        default: throw ValidationError("\(base)/api/wait answered \(status): \(text)")
        }
    }
}
