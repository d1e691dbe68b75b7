import Foundation

/// The base URL of an Elasticsearch cluster, with its credentials split off so
/// they travel only in the Authorization header and never reach a log.
public struct ElasticsearchURL: Sendable, CustomStringConvertible {
    /// Scheme, host and port (and path prefix), without credentials; no trailing slash.
    public var base: String
    /// `Basic ...` when the URL had user information.
    public var authorization: String?

    public init(_ text: String) throws {
        guard var components = URLComponents(string: text),
              let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
              components.host?.isEmpty == false
        else {
            throw ElasticsearchError(.badResponse, "ELASTICSEARCH_URL must be http(s)://[user:password@]host[:port]")
        }
        if let user = components.user {
            let password = components.password ?? ""
            let decodedUser = user.removingPercentEncoding ?? user
            let decodedPassword = password.removingPercentEncoding ?? password
            authorization = "Basic " + Data("\(decodedUser):\(decodedPassword)".utf8).base64EncodedString()
        }
        components.user = nil
        components.password = nil
        var rendered = components.string ?? text
        while rendered.hasSuffix("/") { rendered.removeLast() }
        base = rendered
    }

    /// The URL without credentials: safe to log.
    public var description: String { base }
}
