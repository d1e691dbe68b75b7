/// permessage-deflate (RFC 7692) as agreed in the handshake.
public struct DeflateParameters: Equatable, Sendable {
    /// The server resets its compressor after every message.
    public var serverNoContextTakeover = false
    /// The client resets its compressor after every message.
    public var clientNoContextTakeover = false
    /// LZ77 window of the server's compressor (8...15).
    public var serverMaxWindowBits = 15
    /// LZ77 window of the client's compressor (8...15).
    public var clientMaxWindowBits = 15

    public init(serverNoContextTakeover: Bool = false, clientNoContextTakeover: Bool = false,
                serverMaxWindowBits: Int = 15, clientMaxWindowBits: Int = 15) {
        self.serverNoContextTakeover = serverNoContextTakeover
        self.clientNoContextTakeover = clientNoContextTakeover
        self.serverMaxWindowBits = serverMaxWindowBits
        self.clientMaxWindowBits = clientMaxWindowBits
    }

    /// What our client offers: deflate, any client window the server likes,
    /// and no context takeover on our side (our messages are small requests;
    /// a compressor that forgets between messages needs no memory while idle).
    public static let clientOffer = "permessage-deflate; client_no_context_takeover; client_max_window_bits"

    /// The server's choice among a client's offers (`Sec-WebSocket-Extensions`).
    ///
    /// Policy: the server always asks for no context takeover in both
    /// directions (RFC 7692 §7.1.1 lets it add both unasked). Without server
    /// context every message compresses the same way for every subscriber,
    /// so an event is compressed once and its bytes shared; without client
    /// context the decompressor exists only while a message arrives. Either
    /// way a connection holds no zlib memory while idle.
    public static func negotiate(offers header: String) -> DeflateParameters? {
        for offer in parseExtensions(header) where offer.name == "permessage-deflate" {
            var chosen = DeflateParameters(serverNoContextTakeover: true, clientNoContextTakeover: true)
            var seen = Set<String>()
            var valid = true
            for (key, value) in offer.parameters {
                guard seen.insert(key).inserted else { valid = false; break }
                switch key {
                case "server_no_context_takeover", "client_no_context_takeover":
                    if value != nil { valid = false }
                case "server_max_window_bits":
                    guard let bits = value.flatMap(Int.init), (8...15).contains(bits) else { valid = false; break }
                    chosen.serverMaxWindowBits = bits
                case "client_max_window_bits":
                    if let value {
                        guard let bits = Int(value), (8...15).contains(bits) else { valid = false; break }
                    }
                default:
                    valid = false
                }
                if !valid { break }
            }
            if valid { return chosen }
        }
        return nil
    }

    /// The server's `Sec-WebSocket-Extensions` response for these parameters.
    public var responseHeader: String {
        var parts = ["permessage-deflate"]
        if serverNoContextTakeover { parts.append("server_no_context_takeover") }
        if clientNoContextTakeover { parts.append("client_no_context_takeover") }
        if serverMaxWindowBits < 15 { parts.append("server_max_window_bits=\(serverMaxWindowBits)") }
        if clientMaxWindowBits < 15 { parts.append("client_max_window_bits=\(clientMaxWindowBits)") }
        return parts.joined(separator: "; ")
    }

    /// A client's reading of the server's response; nil when it is not a
    /// valid answer to `clientOffer` (the client then fails the connection).
    public static func parseResponse(_ header: String) -> DeflateParameters?? {
        let extensions = parseExtensions(header)
        if extensions.isEmpty { return .some(nil) }
        guard extensions.count == 1, extensions[0].name == "permessage-deflate" else { return nil }
        var result = DeflateParameters()
        var seen = Set<String>()
        for (key, value) in extensions[0].parameters {
            guard seen.insert(key).inserted else { return nil }
            switch key {
            case "server_no_context_takeover":
                guard value == nil else { return nil }
                result.serverNoContextTakeover = true
            case "client_no_context_takeover":
                guard value == nil else { return nil }
                result.clientNoContextTakeover = true
            case "server_max_window_bits":
                guard let bits = value.flatMap(Int.init), (8...15).contains(bits) else { return nil }
                result.serverMaxWindowBits = bits
            case "client_max_window_bits":
                guard let bits = value.flatMap(Int.init), (8...15).contains(bits) else { return nil }
                result.clientMaxWindowBits = bits
            default:
                return nil
            }
        }
        return .some(result)
    }

    struct Extension {
        var name: String
        var parameters: [(String, String?)]
    }

    /// `a; x=1; y, b` → [a {x: 1, y}, b]. Quoted values lose their quotes.
    static func parseExtensions(_ header: String) -> [Extension] {
        header.split(separator: ",").compactMap { item in
            let parts = item.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let name = parts.first, !name.isEmpty else { return nil }
            let parameters: [(String, String?)] = parts.dropFirst().map { part in
                // Empty pieces kept: `;;` and `=1` are parameters without a name, which no
                // negotiation accepts (an empty `part` used to index an empty array: the
                // fuzzer crashed the server with `Sec-WebSocket-Extensions: x; =`).
                let pieces = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                    .map { $0.trimmingCharacters(in: .whitespaces) }
                var value = pieces.count > 1 ? pieces[1] : nil
                if let v = value, v.count >= 2, v.hasPrefix("\""), v.hasSuffix("\"") { value = String(v.dropFirst().dropLast()) }
                return ((pieces.first ?? "").lowercased(), value)
            }
            return Extension(name: name.lowercased(), parameters: parameters)
        }
    }
}

import Foundation
