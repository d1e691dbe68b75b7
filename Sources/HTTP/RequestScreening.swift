import NIOCore
import NIOHTTP1

/// The server's verdict on a request before any route sees it: the limits
/// of `HTTPLimits`, protocols it does not speak, and connections past the
/// connection limit. Decides only; `RequestGuard` carries it out.
struct RequestScreening: Sendable {
    var limits: HTTPLimits
    /// The server upgrades to WebSocket (anything else is refused).
    var acceptsWebSocket: Bool

    enum Verdict: Equatable, Sendable {
        case pass
        case refuse(Refusal)
    }

    struct Refusal: Equatable, Sendable {
        var status: HTTPResponseStatus
        var message: String
        var retryAfterSeconds: Int?
    }

    /// A request head. `admitted` is false on a connection past the limit:
    /// a WebSocket upgrade passes (the upgrade closes it with 1013, which a
    /// browser's WebSocket can see, unlike a status), anything else gets 503.
    func screen(_ head: HTTPRequestHead, admitted: Bool) -> Verdict {
        let upgrade = head.headers["Upgrade"]
        let isWebSocket = !upgrade.isEmpty
            && upgrade.allSatisfy { $0.split(separator: ",").contains { $0.trimmingCharacters(in: .whitespaces).lowercased() == "websocket" } }
        if !upgrade.isEmpty && !(isWebSocket && acceptsWebSocket) {
            return refuse(.badRequest, "unsupported upgrade: \(upgrade.joined(separator: ", ").prefix(64)); only websocket is served")
        }
        if head.uri.utf8.count > limits.maxURIBytes {
            return refuse(.uriTooLong, "request target longer than \(limits.maxURIBytes) bytes")
        }
        if headerBytes(head.headers) > limits.maxHeaderBytes {
            return refuse(.requestHeaderFieldsTooLarge, "request headers larger than \(limits.maxHeaderBytes) bytes")
        }
        if let length = head.headers["Content-Length"].first.flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) }),
           length > limits.maxBodyBytes {
            return bodyTooLarge
        }
        if !admitted && !isWebSocket {
            return .refuse(Refusal(status: .serviceUnavailable,
                                   message: "server at its connection limit (\(limits.maxConnections)); retry later",
                                   retryAfterSeconds: limits.retryAfterSeconds))
        }
        return .pass
    }

    /// The body received so far.
    func screenBody(received: Int) -> Verdict {
        received > limits.maxBodyBytes ? bodyTooLarge : .pass
    }

    /// A request the HTTP parser rejected.
    func refusal(for error: HTTPParserError) -> Refusal {
        error == .headerOverflow
            ? Refusal(status: .requestHeaderFieldsTooLarge, message: "request headers larger than \(limits.maxHeaderBytes) bytes")
            : Refusal(status: .badRequest, message: "malformed HTTP request (\(error))")
    }

    private var bodyTooLarge: Verdict { refuse(.payloadTooLarge, "request body larger than \(limits.maxBodyBytes) bytes") }

    private func refuse(_ status: HTTPResponseStatus, _ message: String) -> Verdict {
        .refuse(Refusal(status: status, message: message))
    }

    private func headerBytes(_ headers: HTTPHeaders) -> Int {
        headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count }
    }
}

extension RequestScreening.Refusal {
    init(status: HTTPResponseStatus, message: String) {
        self.init(status: status, message: message, retryAfterSeconds: nil)
    }
}
