import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// A small Elasticsearch REST client: the calls HackSync makes, nothing more.
/// Bodies are plain `application/json` (or NDJSON for `_bulk`, sent as
/// `application/json` too, which both Elasticsearch and OpenSearch accept).
public struct ElasticsearchClient: Sendable {
    public var url: ElasticsearchURL
    public var http: HTTPClient
    /// Deadline for one request. Bulk requests of a few hundred documents
    /// take milliseconds; 30 s only trips on a hung cluster.
    public var requestTimeout: TimeAmount
    /// Bulk bodies are cut at this size (Elasticsearch advises a few MB per
    /// request; its `http.max_content_length` refuses 100 MB).
    public var maxBulkBytes = 8 << 20
    public var logger: Logger

    public init(url: ElasticsearchURL, http: HTTPClient, requestTimeout: TimeAmount = .seconds(30), logger: Logger) {
        self.url = url
        self.http = http
        self.requestTimeout = requestTimeout
        self.logger = logger
    }

    public struct Response: Sendable {
        public var status: Int
        public var body: ByteBuffer
        public var isSuccess: Bool { (200..<300).contains(status) }
        public func decode<T: Decodable>(_ type: T.Type) throws -> T {
            do {
                return try JSONDecoder().decode(T.self, from: Data(body.readableBytesView))
            } catch {
                throw ElasticsearchError(.badResponse, status: status, "cannot decode \(T.self): \(error)")
            }
        }
        public var text: String { String(buffer: body) }
    }

    /// Sends one request and returns whatever status came back; throws only
    /// when no HTTP answer arrived.
    public func send(_ method: HTTPMethod, _ path: String, body: ByteBuffer? = nil, timeout: TimeAmount? = nil) async throws -> Response {
        var request = HTTPClientRequest(url: url.base + path)
        request.method = method
        request.headers.add(name: "Accept", value: "application/json")
        if let authorization = url.authorization {
            request.headers.add(name: "Authorization", value: authorization)
        }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(body)
        }
        do {
            let response = try await http.execute(request, timeout: timeout ?? requestTimeout)
            let collected = try await response.body.collect(upTo: 256 * 1024 * 1024)
            return Response(status: Int(response.status.code), body: collected)
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            throw ElasticsearchError(.timeout, "\(method) \(path): \(error)")
        } catch let error as ElasticsearchError {
            throw error
        } catch {
            throw ElasticsearchError(.unreachable, "\(method) \(path): \(error)")
        }
    }

    /// Sends a request and throws unless the status is 2xx.
    @discardableResult
    public func expectSuccess(_ method: HTTPMethod, _ path: String, json: String? = nil, timeout: TimeAmount? = nil) async throws -> Response {
        let response = try await send(method, path, body: json.map { ByteBuffer(string: $0) }, timeout: timeout)
        guard response.isSuccess else {
            throw ElasticsearchError(.httpStatus, status: response.status, "\(method) \(path): \(response.text.prefix(500))")
        }
        return response
    }
}
