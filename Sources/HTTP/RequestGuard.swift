import Model
import NIOCore
import NIOHTTP1

/// Stands between the HTTP parser and everything after it (the WebSocket
/// upgrade, the admin routes) and carries out `RequestScreening`: a refused
/// request is answered with its JSON error and the connection closed, so no
/// route ever sees it. It also times each request: from when the server
/// starts waiting for it until it has fully arrived, at most
/// `requestTimeout` (slow headers, slow bodies and idle keep-alive
/// connections are closed). Removed from the pipeline as soon as an upgrade
/// to WebSocket is accepted, before NIO removes its HTTP parser: the bytes
/// the parser had not parsed (a frame sent right behind the request) are
/// then passed on raw, and must not reach a handler that reads HTTP parts.
public final class RequestGuard: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = HTTPServerRequestPart
    public typealias InboundOut = HTTPServerRequestPart
    public typealias OutboundIn = HTTPServerResponsePart
    public typealias OutboundOut = HTTPServerResponsePart

    static let name = "hacksync.request-guard"

    private enum State {
        /// Waiting for a request (the timer runs).
        case waiting
        /// Its head passed; its body is arriving (the timer runs).
        case receiving(bodyBytes: Int)
        /// Complete: the route or the upgrade answers it.
        case responding
        /// Answered with a refusal; the connection is closing.
        case refused
    }

    private let screening: RequestScreening
    /// False past the connection limit.
    private let admitted: Bool
    /// A connection past the limit gets only this long to say what it wants.
    static let refusedConnectionTimeout: TimeAmount = .seconds(1)
    private var state = State.waiting
    private var timer: Scheduled<Void>?
    private var responseIsUpgrade = false

    init(screening: RequestScreening, admitted: Bool) {
        self.screening = screening
        self.admitted = admitted
    }

    /// The guard of a server with these limits, on a connection `admitted`
    /// within the connection limit or not.
    public convenience init(limits: HTTPLimits, acceptsWebSocket: Bool, admitted: Bool) {
        self.init(screening: RequestScreening(limits: limits, acceptsWebSocket: acceptsWebSocket), admitted: admitted)
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { armTimer(context: context) }
    }

    public func channelActive(context: ChannelHandlerContext) {
        if timer == nil, case .waiting = state { armTimer(context: context) }
        context.fireChannelActive()
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    public func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch (state, part) {
        case (.refused, _):
            return
        case (_, .head(let head)):
            if case .refuse(let refusal) = screening.screen(head, admitted: admitted) {
                return refuse(refusal, context: context)
            }
            state = .receiving(bodyBytes: 0)
            // A head that came while the previous response was still being written.
            if timer == nil { armTimer(context: context) }
        case (.receiving(let received), .body(let chunk)):
            let total = received + chunk.readableBytes
            if case .refuse(let refusal) = screening.screenBody(received: total) {
                return refuse(refusal, context: context)
            }
            state = .receiving(bodyBytes: total)
        case (_, .end):
            timer?.cancel()
            timer = nil
            state = .responding
        default:
            break
        }
        context.fireChannelRead(data)
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head):
            responseIsUpgrade = head.status == .switchingProtocols
        case .end:
            // The next request's time starts once this response has been
            // written: a slow reader of a large body is not cut off.
            if case .responding = state, !responseIsUpgrade {
                state = .waiting
                let written = promise ?? context.eventLoop.makePromise(of: Void.self)
                let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                written.futureResult.whenSuccess {
                    let (guardHandler, context) = loopBound.value
                    if case .waiting = guardHandler.state, guardHandler.timer == nil { guardHandler.armTimer(context: context) }
                }
                return context.write(data, promise: written)
            }
        case .body:
            break
        }
        context.write(data, promise: promise)
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError else { return context.fireErrorCaught(error) }
        switch state {
        case .waiting, .receiving: refuse(screening.refusal(for: parserError), context: context)
        case .responding, .refused: context.close(promise: nil)
        }
    }

    private func armTimer(context: ChannelHandlerContext) {
        timer?.cancel()
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let timeout = admitted ? screening.limits.requestTimeout : min(screening.limits.requestTimeout, Self.refusedConnectionTimeout)
        timer = context.eventLoop.scheduleTask(in: timeout) {
            let (guardHandler, context) = loopBound.value
            guardHandler.timedOut(context: context)
        }
    }

    private func timedOut(context: ChannelHandlerContext) {
        timer = nil
        switch state {
        case .receiving:
            // The head came, the body did not: the client can be told.
            refuse(.init(status: .requestTimeout, message: "request not received within \(screening.limits.requestTimeout.nanoseconds / 1_000_000) ms"),
                   context: context)
        case .waiting:
            context.close(promise: nil)
        case .responding, .refused:
            break
        }
    }

    /// Answers with the refusal and closes once it is written.
    private func refuse(_ refusal: RequestScreening.Refusal, context: ChannelHandlerContext) {
        state = .refused
        timer?.cancel()
        timer = nil
        var headers = HTTPHeaders()
        if let seconds = refusal.retryAfterSeconds { headers.add(name: "Retry-After", value: String(seconds)) }
        let (head, body) = HTTPResponse.refusal(refusal.status, refusal.message, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }
}
