import CZlib
import NIOCore

/// Raw DEFLATE compression of whole messages (RFC 7692 §7.2.1).
///
/// Owns one zlib stream at a fixed heap address (zlib keeps a pointer back to
/// it). Not thread-safe: one owner at a time.
public final class Deflater {
    private let stream: UnsafeMutablePointer<z_stream>
    public let windowBits: Int

    /// zlib cannot make an 8-bit raw window (it silently uses 9), so a peer
    /// limited to 8 bits gets uncompressed messages instead.
    public static func isSupported(windowBits: Int) -> Bool { (9...15).contains(windowBits) }

    /// Level 5: most of level 6's ratio on JSON at noticeably less CPU; memLevel 8 (zlib's default).
    public init(windowBits: Int = 15, level: Int32 = 5) {
        precondition(Self.isSupported(windowBits: windowBits))
        self.windowBits = windowBits
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let status = hacksync_deflateInit2(stream, level, -Int32(windowBits), 8)
        precondition(status == Z_OK, "deflateInit2 failed: \(status)")
    }

    deinit {
        deflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Compresses one message. With `reset`, no context carries over to the
    /// next message (no context takeover).
    public func compress(_ input: ByteBuffer, reset: Bool) -> ByteBuffer {
        var output = ByteBuffer()
        output.reserveCapacity(Int(deflateBound(stream, uLong(input.readableBytes))) + 16)
        input.withUnsafeReadableBytes { source in
            stream.pointee.next_in = UnsafeMutablePointer(mutating: source.bindMemory(to: Bytef.self).baseAddress)
            stream.pointee.avail_in = uInt(source.count)
            repeat {
                output.reserveCapacity(minimumWritableBytes: 4096)
                output.writeWithUnsafeMutableBytes(minimumWritableBytes: 4096) { target in
                    stream.pointee.next_out = target.bindMemory(to: Bytef.self).baseAddress
                    stream.pointee.avail_out = uInt(target.count)
                    _ = deflate(stream, Z_SYNC_FLUSH)
                    return target.count - Int(stream.pointee.avail_out)
                }
            } while stream.pointee.avail_out == 0
            stream.pointee.next_in = nil
        }
        // A sync flush ends in 00 00 FF FF; the message leaves it out.
        output.moveWriterIndex(to: output.writerIndex - 4)
        if reset { deflateReset(stream) }
        return output
    }
}

/// Raw DEFLATE decompression, fed frame by frame so limits and UTF-8 are
/// checked as a message arrives. Always a 15-bit window: a larger window than
/// the sender's is always enough.
public final class Inflater {
    private let stream: UnsafeMutablePointer<z_stream>

    public init() {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let status = hacksync_inflateInit2(stream, -15)
        precondition(status == Z_OK, "inflateInit2 failed: \(status)")
    }

    deinit {
        inflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    static let tail: [UInt8] = [0x00, 0x00, 0xFF, 0xFF]

    /// Inflates `input` and appends to `output`; throws 1009 once `output`
    /// would exceed `limit`, 1007 on corrupt data.
    public func inflate(_ input: ByteBuffer, into output: inout ByteBuffer, limit: Int) throws(WebSocketProtocolError) {
        var failure: WebSocketProtocolError?
        input.withUnsafeReadableBytes { source in
            failure = run(source, into: &output, limit: limit)
        }
        if let failure { throw failure }
    }

    /// Ends a message: feeds the 00 00 FF FF the sender left out.
    public func finishMessage(into output: inout ByteBuffer, limit: Int) throws(WebSocketProtocolError) {
        var failure: WebSocketProtocolError?
        Self.tail.withUnsafeBytes { failure = run($0, into: &output, limit: limit) }
        if let failure { throw failure }
    }

    public func reset() { inflateReset(stream) }

    private func run(_ source: UnsafeRawBufferPointer, into output: inout ByteBuffer, limit: Int) -> WebSocketProtocolError? {
        guard source.count > 0 else { return nil }
        stream.pointee.next_in = UnsafeMutablePointer(mutating: source.bindMemory(to: Bytef.self).baseAddress)
        stream.pointee.avail_in = uInt(source.count)
        defer { stream.pointee.next_in = nil; stream.pointee.avail_in = 0 }
        while true {
            var status: Int32 = Z_OK
            output.writeWithUnsafeMutableBytes(minimumWritableBytes: 16384) { target in
                stream.pointee.next_out = target.bindMemory(to: Bytef.self).baseAddress
                stream.pointee.avail_out = uInt(target.count)
                status = CZlib.inflate(stream, Z_SYNC_FLUSH)
                return target.count - Int(stream.pointee.avail_out)
            }
            if output.readableBytes > limit {
                return WebSocketProtocolError(.messageTooBig, "decompressed message exceeds \(limit) bytes")
            }
            switch status {
            case Z_STREAM_END:
                // A block with BFINAL set ends the DEFLATE stream (RFC 7692
                // §7.2.3.3 allows it): what follows, if only the 00 00 FF FF
                // we append, starts a new one. Without the reset, inflate
                // takes no more input and this loop never ended (found by
                // the fuzzer: 0x33 then the tail).
                inflateReset(stream)
                if stream.pointee.avail_in == 0 { return nil }
            case Z_OK, Z_BUF_ERROR:
                if stream.pointee.avail_in == 0 && stream.pointee.avail_out != 0 { return nil }
                if status == Z_BUF_ERROR && stream.pointee.avail_out != 0 { return nil }
            default:
                return WebSocketProtocolError(.invalidPayload, "invalid compressed data")
            }
        }
    }
}
