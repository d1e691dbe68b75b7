import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing
@testable import HTTP

/// What the HTTP port refuses before a route sees it, decided without a
/// socket (`RequestScreening`) and carried out on an embedded channel whose
/// clock moves only when told (`RequestGuard`).
@Suite struct RequestGuardTests {
    static var limits: HTTPLimits {
        var limits = HTTPLimits()
        limits.maxConnections = 10
        limits.maxBodyBytes = 100
        limits.maxHeaderBytes = 200
        limits.maxURIBytes = 50
        limits.requestTimeout = .seconds(10)
        return limits
    }

    let screening = RequestScreening(limits: Self.limits, acceptsWebSocket: true)

    func head(_ uri: String = "/api/status", method: HTTPMethod = .GET, headers: [(String, String)] = []) -> HTTPRequestHead {
        HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: HTTPHeaders(headers))
    }

    func status(_ verdict: RequestScreening.Verdict) -> HTTPResponseStatus? {
        if case .refuse(let refusal) = verdict { return refusal.status }
        return nil
    }

    // MARK: the verdicts

    @Test func anOrdinaryRequestAndAWebSocketUpgradePass() {
        #expect(screening.screen(head(), admitted: true) == .pass)
        #expect(screening.screen(head("/ws", headers: [("Upgrade", "websocket"), ("Connection", "Upgrade")]), admitted: true) == .pass)
        #expect(screening.screen(head("/ws", headers: [("Upgrade", "WebSocket")]), admitted: true) == .pass)
    }

    @Test func anUpgradeToAnotherProtocolIsABadRequest() {
        #expect(status(screening.screen(head(headers: [("Upgrade", "foo"), ("Connection", "Upgrade")]), admitted: true)) == .badRequest)
        #expect(status(screening.screen(head(headers: [("Upgrade", "h2c")]), admitted: true)) == .badRequest)
        let noWebSocket = RequestScreening(limits: Self.limits, acceptsWebSocket: false)
        #expect(status(noWebSocket.screen(head(headers: [("Upgrade", "websocket")]), admitted: true)) == .badRequest)
    }

    @Test func sizesPastTheLimitsAreRefusedWithTheirOwnStatus() {
        #expect(status(screening.screen(head("/" + String(repeating: "a", count: 50)), admitted: true)) == .uriTooLong)
        #expect(status(screening.screen(head(headers: [("X-Big", String(repeating: "a", count: 200))]), admitted: true)) == .requestHeaderFieldsTooLarge)
        #expect(screening.screen(head(headers: [("X-Big", String(repeating: "a", count: 190))]), admitted: true) == .pass)
        #expect(status(screening.screen(head(method: .POST, headers: [("Content-Length", "101")]), admitted: true)) == .payloadTooLarge)
        #expect(screening.screen(head(method: .POST, headers: [("Content-Length", "100")]), admitted: true) == .pass)
        #expect(screening.screenBody(received: 100) == .pass)
        #expect(status(screening.screenBody(received: 101)) == .payloadTooLarge)
        #expect(screening.refusal(for: .headerOverflow).status == .requestHeaderFieldsTooLarge)
        #expect(screening.refusal(for: .invalidMethod).status == .badRequest)
    }

    @Test func pastTheConnectionLimitHTTPGets503WithRetryAfterAndAWebSocketPassesToBeClosed() {
        guard case .refuse(let refusal) = screening.screen(head(), admitted: false) else {
            Issue.record("a request past the limit passed")
            return
        }
        #expect(refusal.status == .serviceUnavailable)
        #expect(refusal.retryAfterSeconds == Self.limits.retryAfterSeconds)
        // The upgrade closes it with 1013, which a browser's WebSocket can see.
        #expect(screening.screen(head("/ws", headers: [("Upgrade", "websocket")]), admitted: false) == .pass)
        // A refusal of the request itself comes first.
        #expect(status(screening.screen(head(headers: [("Upgrade", "foo")]), admitted: false)) == .badRequest)
    }

    // MARK: the guard in a pipeline

    /// The guard on a channel, and what passed it.
    func guarded(admitted: Bool = true) throws -> (EmbeddedChannel, Passed) {
        let channel = EmbeddedChannel()
        let passed = Passed()
        try channel.pipeline.syncOperations.addHandler(RequestGuard(screening: screening, admitted: admitted))
        try channel.pipeline.syncOperations.addHandler(passed)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return (channel, passed)
    }

    final class Passed: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        var parts: [HTTPServerRequestPart] = []
        func channelRead(context: ChannelHandlerContext, data: NIOAny) { parts.append(unwrapInboundIn(data)) }
    }

    /// The response written, as status, headers and body text.
    func response(_ channel: EmbeddedChannel) throws -> (HTTPResponseHead, String)? {
        guard case .head(let head)? = try channel.readOutbound(as: HTTPServerResponsePart.self) else { return nil }
        var body = ""
        while let part = try channel.readOutbound(as: HTTPServerResponsePart.self) {
            if case .body(.byteBuffer(let buffer)) = part { body += String(buffer: buffer) }
        }
        return (head, body)
    }

    @Test func aRefusedRequestIsAnsweredWithJSONAndClosedAndNothingPasses() throws {
        let (channel, passed) = try guarded()
        try channel.writeInbound(HTTPServerRequestPart.head(head(headers: [("Upgrade", "foo")])))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        let (responseHead, body) = try #require(try response(channel))
        #expect(responseHead.status == .badRequest)
        #expect(responseHead.headers["Connection"] == ["close"])
        #expect(body == #"{"error":"unsupported upgrade: foo; only websocket is served","status":400}"#)
        #expect(passed.parts.isEmpty)
        #expect(!channel.isActive)
    }

    @Test func aBodyThatGrowsPastTheLimitIsRefusedMidStream() throws {
        let (channel, passed) = try guarded()
        try channel.writeInbound(HTTPServerRequestPart.head(head(method: .POST, headers: [("Transfer-Encoding", "chunked")])))
        try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(repeating: 1, count: 60)))
        #expect(channel.isActive)
        try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(repeating: 1, count: 60)))
        #expect(try response(channel)?.0.status == .payloadTooLarge)
        #expect(passed.parts.count == 2, "the head and the first chunk passed, not the one past the limit")
        #expect(!channel.isActive)
    }

    @Test func pastTheLimitAnHTTPRequestGets503WithRetryAfter() throws {
        let (channel, _) = try guarded(admitted: false)
        try channel.writeInbound(HTTPServerRequestPart.head(head()))
        let (responseHead, _) = try #require(try response(channel))
        #expect(responseHead.status == .serviceUnavailable)
        #expect(responseHead.headers["Retry-After"] == [String(Self.limits.retryAfterSeconds)])
    }

    @Test func aMalformedRequestGets400AndAnOversizedHead431() throws {
        let (channel, _) = try guarded()
        channel.pipeline.fireErrorCaught(HTTPParserError.invalidMethod)
        #expect(try response(channel)?.0.status == .badRequest)
        #expect(!channel.isActive)
        let (other, _) = try guarded()
        other.pipeline.fireErrorCaught(HTTPParserError.headerOverflow)
        #expect(try response(other)?.0.status == .requestHeaderFieldsTooLarge)
    }

    @Test func aConnectionThatSendsNoRequestInTimeIsClosed() throws {
        let (channel, _) = try guarded()
        channel.embeddedEventLoop.advanceTime(by: .seconds(9))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(!channel.isActive)
        #expect(try channel.readOutbound(as: HTTPServerResponsePart.self) == nil, "nothing was asked: nothing is answered")
    }

    @Test func aHeadWhoseBodyTricklesGets408() throws {
        let (channel, _) = try guarded()
        try channel.writeInbound(HTTPServerRequestPart.head(head(method: .POST, headers: [("Content-Length", "50")])))
        for _ in 0..<10 {
            try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(repeating: 1, count: 1)))
            channel.embeddedEventLoop.advanceTime(by: .milliseconds(999))
        }
        #expect(channel.isActive, "bytes keep coming, but the clock is the request's, not the last byte's")
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(10))
        #expect(try response(channel)?.0.status == .requestTimeout)
        #expect(!channel.isActive)
    }

    @Test func theClockStopsWhileTheRouteAnswersAndRestartsForTheNextRequest() throws {
        let (channel, passed) = try guarded()
        try channel.writeInbound(HTTPServerRequestPart.head(head()))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        channel.embeddedEventLoop.advanceTime(by: .seconds(30))  // a slow route (a status query behind a busy database)
        #expect(channel.isActive)
        try channel.writeOutbound(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: .ok)))
        try channel.writeOutbound(HTTPServerResponsePart.end(nil))
        channel.embeddedEventLoop.advanceTime(by: .seconds(9))
        try channel.writeInbound(HTTPServerRequestPart.head(head()))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        channel.embeddedEventLoop.advanceTime(by: .seconds(5))
        #expect(channel.isActive, "the second request arrived in time")
        #expect(passed.parts.count == 4)
        try channel.writeOutbound(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: .ok)))
        try channel.writeOutbound(HTTPServerResponsePart.end(nil))
        channel.embeddedEventLoop.advanceTime(by: .seconds(10))
        #expect(!channel.isActive, "an idle keep-alive connection is closed after the timeout")
    }

    @Test func theIdleClockStartsWhenTheResponseIsWrittenNotWhenItIsQueued() throws {
        let (channel, _) = try guarded()
        try channel.writeInbound(HTTPServerRequestPart.head(head()))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        // A large body to a slow reader: queued, not yet written.
        channel.write(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: .ok)), promise: nil)
        channel.write(HTTPServerResponsePart.end(nil), promise: nil)
        channel.embeddedEventLoop.advanceTime(by: .seconds(30))
        #expect(channel.isActive, "closed while the response was still going out")
        channel.flush()
        channel.embeddedEventLoop.advanceTime(by: .seconds(10))
        #expect(!channel.isActive)
    }

    @Test func aConnectionPastTheLimitThatSaysNothingIsClosedAfterASecond() throws {
        let (channel, _) = try guarded(admitted: false)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(999))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        #expect(!channel.isActive)
    }
}
