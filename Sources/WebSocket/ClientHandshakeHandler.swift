import NIOCore

/// Sits in front of the client's async channel until the handshake response
/// head has arrived: strips it from the inbound bytes, hands it over through
/// `response`, passes on what followed it in the same read, and leaves the
/// pipeline. The async channel behind it exists from the start, so frames the
/// server sends together with its 101 (and a close right after) are never
/// dropped, whatever order the read and the end of the stream arrive in.
final class ClientHandshakeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    let response: EventLoopPromise<ClientHandshake.Response>
    private let timeLimit: TimeAmount
    private var received = ByteBuffer()
    private var finished = false
    private var timeout: Scheduled<Void>?

    init(response: EventLoopPromise<ClientHandshake.Response>, timeLimit: TimeAmount) {
        self.response = response
        self.timeLimit = timeLimit
    }

    /// The clock starts once connected (connecting has its own timeout).
    func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
        timeout = context.eventLoop.assumeIsolated().scheduleTask(in: timeLimit) { [self] in
            fail(ClientHandshake.Failure(description: "no handshake response within \(timeLimit.nanoseconds / 1_000_000) ms"))
            context.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        fail(ClientHandshake.Failure(description: "the connection ended during the handshake"))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !finished else { return context.fireChannelRead(data) }
        var chunk = unwrapInboundIn(data)
        received.writeBuffer(&chunk)
        do {
            guard let head = try ClientHandshake.parseResponse(&received) else { return }
            finished = true
            timeout?.cancel()
            if received.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(received)) }
            received = ByteBuffer()
            response.succeed(head)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        } catch {
            fail(error)
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(ClientHandshake.Failure(description: "the server closed the connection during the handshake"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(error)
        context.fireErrorCaught(error)
    }

    private func fail(_ error: any Error) {
        guard !finished else { return }
        finished = true
        timeout?.cancel()
        response.fail(error)
    }
}
