import HTTP
import Model
import NIOCore
import NIOEmbedded
import NIOHTTP1
import WebSocket

/// Each target feeds untrusted bytes to one parser and checks what must
/// hold whatever the input: no crash (AddressSanitizer watches memory),
/// limits respected, and where a second implementation exists, the same
/// answer. A broken property traps, which libFuzzer reports as a crash.
enum FuzzTargets {
    static func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
        if !condition() { fatalError(message()) }
    }

    /// WebSocket frames, in either role: whatever parses re-encodes to a
    /// frame that parses the same, and a payload is never larger than allowed.
    static func frames(_ data: UnsafeRawBufferPointer) {
        guard let first = data.first else { return }
        let role: FrameParser.Role = first & 1 == 0 ? .server : .client
        let maxFrameSize = 1 << 16
        let parser = FrameParser(role: role, maxFrameSize: maxFrameSize)
        var buffer = ByteBuffer(bytes: data.dropFirst())
        while true {
            let before = buffer.readableBytes
            let frame: WebSocketFrame?
            do { frame = try parser.parse(&buffer) } catch { return }
            guard let frame else { return }
            check(buffer.readableBytes < before, "a frame was parsed from no bytes")
            check(frame.payload.readableBytes <= maxFrameSize, "payload of \(frame.payload.readableBytes) past the limit")
            // Our own encoding of it: masked when a client sent it.
            var again = FrameEncoder.encode(frame, maskKey: role == .server ? 0x1234_5678 : nil)
            let reparsed = try? parser.parse(&again)
            check(reparsed?.opcode == frame.opcode && reparsed?.fin == frame.fin && reparsed?.payload == frame.payload,
                  "a parsed frame does not survive its own encoding")
        }
    }

    /// An upgrade request from header lines: accepted only with a proper
    /// key, answered with that key's accept value.
    static func serverHandshake(_ data: UnsafeRawBufferPointer) {
        let text = String(decoding: data, as: UTF8.self)
        var headers = HTTPHeaders()
        for line in text.split(separator: "\n").prefix(64) {
            // As NIO's parser would hand them over: names are tokens.
            guard let colon = line.firstIndex(of: ":"), !line[..<colon].isEmpty,
                  line[..<colon].utf8.allSatisfy(ClientHandshake.isTokenByte) else { continue }
            headers.add(name: String(line[..<colon]), value: line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/ws", headers: headers)
        switch Handshake.accept(head, allowedOrigins: ["https://hacksync.example"], enableDeflate: true) {
        case .success(let accepted):
            let key = headers["Sec-WebSocket-Key"].first ?? ""
            check(accepted.headers["Sec-WebSocket-Accept"] == [Handshake.acceptValue(forKey: key.trimmingCharacters(in: .whitespaces))],
                  "accepted with the wrong Sec-WebSocket-Accept")
        case .failure(let rejection):
            check(rejection.status.code >= 400, "a rejection with status \(rejection.status.code)")
        }
        _ = DeflateParameters.negotiate(offers: text)
        _ = DeflateParameters.parseResponse(text)
    }

    /// A server's answer to our upgrade request, in pieces as it may arrive.
    static func clientHandshake(_ data: UnsafeRawBufferPointer) {
        var buffer = ByteBuffer(bytes: data)
        do {
            guard let response = try ClientHandshake.parseResponse(&buffer) else { return }
            _ = try? ClientHandshake.validate(response, key: "dGhlIHNhbXBsZSBub25jZQ==")
        } catch {
            return
        }
    }

    /// The incremental validator against the standard library's, fed in
    /// chunks split where the input says.
    static func utf8(_ data: UnsafeRawBufferPointer) {
        guard let first = data.first else { return }
        let bytes = Array(data.dropFirst())
        let chunk = Int(first % 7) + 1
        var validator = UTF8Validator()
        var valid = true
        var start = 0
        while start < bytes.count && valid {
            let end = min(bytes.count, start + chunk)
            valid = first & 0x80 == 0 ? validator.feed(bytes[start..<end])
                : bytes[start..<end].withUnsafeBytes { validator.feed($0) }
            start = end
        }
        let ours = valid && validator.isComplete
        let standard = String(validating: bytes, as: UTF8.self) != nil
        check(ours == standard, "UTF-8 validator says \(ours), the standard library \(standard) for \(bytes)")
    }

    /// A permessage-deflate message in fragments (sized by the first
    /// byte): corrupt data is an error, and the output never passes the limit.
    static func inflate(_ data: UnsafeRawBufferPointer) {
        guard let first = data.first else { return }
        let limit = 1 << 16
        let fragment = Int(first) + 1
        let inflater = Inflater()
        var output = ByteBuffer()
        let bytes = Array(data.dropFirst())
        do {
            var start = 0
            while start < bytes.count {
                let end = min(bytes.count, start + fragment)
                try inflater.inflate(ByteBuffer(bytes: bytes[start..<end]), into: &output, limit: limit)
                check(output.readableBytes <= limit, "inflated \(output.readableBytes) past the limit")
                start = end
            }
            try inflater.finishMessage(into: &output, limit: limit)
        } catch {
            return
        }
        check(output.readableBytes <= limit, "inflated \(output.readableBytes) past the limit")
    }

    /// A subscriber's request, authorized or not.
    static func subscription(_ data: UnsafeRawBufferPointer) {
        guard let first = data.first else { return }
        _ = try? ClientRequest.parse(data.dropFirst(), authorized: first & 1 == 1)
    }

    /// Bytes on the HTTP port: NIO's parser with the server's limits and its
    /// pipelining handler, then the server's guard. Whatever it answers is a complete response.
    static func httpHead(_ data: UnsafeRawBufferPointer) {
        var limits = HTTPLimits()
        limits.maxHeaderBytes = 1024
        limits.maxURIBytes = 256
        limits.maxBodyBytes = 512
        let channel = EmbeddedChannel()
        // An EmbeddedChannel not finished keeps its pending timers, and with them itself.
        defer { _ = try? channel.finish(acceptAlreadyClosed: true) }
        do {
            try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTPRequestDecoder(
                leftOverBytesStrategy: .dropBytes, informationalResponseStrategy: .drop, limitConfiguration: limits.decoderConfiguration)))
            try channel.pipeline.syncOperations.addHandler(HTTPResponseEncoder())
            try channel.pipeline.syncOperations.addHandler(HTTPServerPipelineHandler())
            try channel.pipeline.syncOperations.addHandler(RequestGuard(limits: limits, acceptsWebSocket: true, admitted: data.first.map { $0 != 0 } ?? true))
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
            try channel.writeInbound(ByteBuffer(bytes: data))
        } catch {
            // A parse error the guard answered closes the channel; the write then fails.
        }
        var written = ByteBuffer()
        while var part = try? channel.readOutbound(as: ByteBuffer.self) { written.writeBuffer(&part) }
        let text = String(buffer: written)
        check(text.isEmpty || text.hasPrefix("HTTP/1.1 4") || text.hasPrefix("HTTP/1.1 5"), "unexpected answer: \(text.prefix(80))")
    }
}
