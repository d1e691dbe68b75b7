/// Limits and timers of a WebSocket connection.
public struct WebSocketConfiguration: Sendable {
    /// Largest frame payload accepted. Checked from the header, before the
    /// payload is buffered; larger → close 1009.
    public var maxFrameSize = 1 << 20
    /// Largest message (after reassembly and decompression); larger → 1009.
    public var maxMessageSize = 1 << 20
    /// How often an idle connection is pinged; nil disables keepalive.
    public var pingInterval: Duration? = .seconds(30)
    /// A connection from which nothing arrived for this long is closed
    /// (1001): two missed pongs at the default ping interval.
    public var idleTimeout: Duration = .seconds(75)
    /// After we send a close frame, how long to wait for the peer's.
    public var closeTimeout: Duration = .seconds(5)
    /// Messages smaller than this are sent uncompressed: deflate overhead
    /// outweighs the gain on tiny JSON frames.
    public var compressionThreshold = 128

    public init() {}
}
