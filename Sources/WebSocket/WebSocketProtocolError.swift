/// A violation by the peer, with the close code the connection ends with.
public struct WebSocketProtocolError: Error, Equatable, Sendable, CustomStringConvertible {
    public var closeCode: WebSocketCloseCode
    public var reason: String

    public init(_ closeCode: WebSocketCloseCode, _ reason: String) {
        self.closeCode = closeCode
        self.reason = reason
    }

    public var description: String { "WebSocket \(closeCode): \(reason)" }
}
