import NIOCore

/// Serves one WebSocket connection from inside its channel pipeline: bytes
/// read are parsed on the event loop and each message is handed to the
/// delegate there, in order. A connection waiting for its next frame runs
/// no task and holds no stack, only this handler and the connection.
///
/// Reading pauses while more than `sendHighWater` bytes wait for the peer
/// (pongs and answers to a peer that sends but does not read), and ends
/// when the connection does: the channel is closed once the last frames
/// reached the socket.
public final class WebSocketChannelHandler: ChannelDuplexHandler {
    public typealias InboundIn = ByteBuffer
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    /// What the application does with a connection, called on its event loop.
    public struct Delegate: Sendable {
        /// A message arrived. Must not block: work that waits runs in a task.
        public var onMessage: @Sendable (WebSocketStateMachine.Message) -> Void
        /// The connection closed (once).
        public var onClose: @Sendable () -> Void

        public init(onMessage: @escaping @Sendable (WebSocketStateMachine.Message) -> Void,
                    onClose: @escaping @Sendable () -> Void = {}) {
            self.onMessage = onMessage
            self.onClose = onClose
        }
    }

    public let connection: WebSocketConnection
    private let delegate: Delegate
    /// False once the connection ended: later bytes are not read.
    private var reading = true
    /// `onClose` was called.
    private var closed = false
    /// Waiting for the peer to take what is queued for it.
    private var waitingForPeer = false
    /// A read was asked for while waiting: issued once the peer caught up.
    private var readDeferred = false

    public init(connection: WebSocketConnection, delegate: Delegate) {
        self.connection = connection
        self.delegate = delegate
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        // A peer that left during the upgrade: no channelInactive will follow.
        guard context.channel.isActive else { return finish() }
        connection.start()
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard reading else { return }
        var step = connection.nextStep(reading: unwrapInboundIn(data))
        while case .message(let message) = step {
            delegate.onMessage(message)
            step = connection.nextStep(reading: nil)
        }
        if step == .ended {
            reading = false
            connection.closeWhenDrained()
        } else {
            pauseWhileBacklogged(context.channel)
        }
    }

    public func read(context: ChannelHandlerContext) {
        guard reading else { return }  // ended: the channel closes once our last frames are out
        if waitingForPeer {
            readDeferred = true
        } else {
            context.read()
        }
    }

    public func channelInactive(context: ChannelHandlerContext) {
        finish()
        context.fireChannelInactive()
    }

    private func finish() {
        reading = false
        guard !closed else { return }
        closed = true
        connection.ended()
        delegate.onClose()
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A reset or a failed write: the connection is over.
        context.close(promise: nil)
    }

    private func pauseWhileBacklogged(_ channel: any Channel) {
        guard !waitingForPeer, let backlog = connection.outboundBacklog else { return }
        waitingForPeer = true
        backlog.assumeIsolated().whenComplete { _ in
            self.waitingForPeer = false
            self.pauseWhileBacklogged(channel)
            if !self.waitingForPeer && self.readDeferred {
                self.readDeferred = false
                channel.read()
            }
        }
    }
}
