import HTTP
import Model
import NIOHTTP1

/// `GET /api/wait?xid=N&timeout=2s`: read-your-writes. The app reads
/// `pg_current_xact_id()` inside its transaction, commits, and asks; the
/// answer comes once every change of that transaction is in the index and
/// searchable (`WriteWaits`): 200 `{"xid":N,"synced":true,"seq":S}`, 504
/// with what is still outstanding at the timeout, 400 for a malformed xid or
/// timeout.
struct WaitAPI {
    let waits: WriteWaits

    var routes: [AdminRoute] {
        [AdminRoute(.GET, "/api/wait") { request in try await wait(request.http) }]
    }

    func wait(_ request: HTTPRequest) async throws -> HTTPResponse {
        let text = request.query["xid"] ?? ""
        guard let xid = UInt64(text) else {
            throw OperationError.invalid("xid must be a transaction id as pg_current_xact_id() gives it, got \(jsonQuoted(text))")
        }
        let timeout = try request.query["timeout"].map(Self.duration) ?? WriteWaitResult.defaultTimeout
        switch await waits.wait(xid: xid, timeout: timeout) {
        case .synced(let seq):
            return .json(#"{"xid":\#(xid),"synced":true,"seq":\#(seq)}"#)
        case .timedOut(let pendingChanges):
            let message = "timed out waiting for " + (pendingChanges ? "changes of the transaction to sync" : "the index refresh")
            return .json(#"{"error":\#(jsonQuoted(message)),"status":504,"xid":\#(xid),"synced":false,"waiting_for":"\#(pendingChanges ? "sync" : "refresh")"}"#,
                         status: .gatewayTimeout)
        case .cancelled:
            return .error(.serviceUnavailable, "the wait ended before an answer (the service is stopping); ask again")
        }
    }

    /// `2s`, `500ms`, `1.5s`, `0` (answer at once); past `WriteWaitResult.maximumTimeout`, that maximum.
    static func duration(_ text: String) throws -> Duration {
        let (number, unit): (Substring, Double) = text.hasSuffix("ms") ? (text.dropLast(2), 0.001) : text.hasSuffix("s") ? (text.dropLast(), 1) : (Substring(text), 1)
        // Digits with an optional fraction, as openapi.yaml's pattern says (Double alone takes 1e3, 0x10, 1.).
        let parts = number.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard !parts.isEmpty, parts.allSatisfy({ !$0.isEmpty && $0.utf8.allSatisfy { (48...57).contains($0) } }),
              let value = Double(number), value.isFinite else {
            throw OperationError.invalid("timeout is a duration such as 2s or 500ms, got \(jsonQuoted(text))")
        }
        let maximum = Double(WriteWaitResult.maximumTimeout / .milliseconds(1))
        return .milliseconds(Int64(min((value * unit * 1000).rounded(.up), maximum)))
    }
}
