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
    /// Frames offered to a connection without waiting (the hub's events)
    /// that may be pending, queued or in the socket's write, before an offer
    /// is refused and the subscriber closed as a slow consumer (4008). A
    /// thousand events is seconds of a busy hackathon: a healthy client
    /// never gets near it.
    public var maxPendingMessages = 1000
    /// Bytes pending likewise; caps memory whatever the event size.
    public var maxPendingBytes = 8 << 20
    /// A sender that waits for its writes (`send`) waits once this much is pending.
    public var sendHighWater = 1 << 20

    public init() {}
}
