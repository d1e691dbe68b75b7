import Foundation
import NIOCore
import NIOHTTP1

/// What one HTTP server accepts: how many connections, how large a request,
/// how slowly it may arrive. Past a limit the client gets a clear answer
/// (413, 414, 431, 503 with `Retry-After`, or close 1013 on a WebSocket),
/// never a hang.
public struct HTTPLimits: Sendable {
    /// Open connections (HTTP and WebSocket together). One more is answered
    /// 503 (or 1013 on `/ws`) and closed. Default: the process's descriptor
    /// limit less a reserve for Postgres, the search server and files.
    public var maxConnections = HTTPLimits.descriptorBudget()
    /// Request line's target.
    public var maxURIBytes = 8 * 1024
    /// Header names and values of one request together; a single field is
    /// held to the same bound.
    public var maxHeaderBytes = 16 * 1024
    /// Admin requests are small JSON documents.
    public var maxBodyBytes = 1 << 20
    /// From the moment the server waits for a request (a new connection, or
    /// the previous response sent) until that request has fully arrived:
    /// a client that trickles its headers or body (slow-loris), or keeps an
    /// idle keep-alive connection, is closed after it.
    public var requestTimeout: TimeAmount = .seconds(10)
    /// Seconds a refused client is told to wait (`Retry-After`).
    public var retryAfterSeconds = 5

    public init() {}

    /// The HTTP parser's own bounds: a head past them is a parse error that
    /// `RequestGuard` answers with 431.
    public var decoderConfiguration: NIOHTTPDecoderLimitConfiguration {
        var configuration = NIOHTTPDecoderLimitConfiguration()
        configuration.maxHeaderFieldSize = maxHeaderBytes
        configuration.maxHeaderListSize = maxHeaderBytes
        return configuration
    }

    /// Descriptors left for clients: the soft `RLIMIT_NOFILE` less 256.
    public static func descriptorBudget() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 10_000 }
        // Unlimited reads as the largest value: clamped, then capped to a sane count.
        return max(16, min(Int(clamping: limit.rlim_cur), 1 << 20) - 256)
    }
}
