import Model
import HTTP
import Logging
import NIOHTTP1
import Realtime

/// One endpoint of the admin API: a method (nil: any), a path pattern whose
/// `:name` segments capture, who may call it, and what it does.
struct AdminRoute: Sendable {
    enum Access: Sendable {
        case open
        /// Needs `Authorization: Bearer <admin token>`.
        case adminToken
    }

    typealias Handler = @Sendable (AdminRequest) async throws -> HTTPResponse

    let method: HTTPMethod?
    let segments: [Substring]
    let access: Access
    let handler: Handler

    init(_ method: HTTPMethod?, _ pattern: String, access: Access = .open, _ handler: @escaping Handler) {
        self.method = method
        self.segments = pattern.split(separator: "/")
        self.access = access
        self.handler = handler
    }

    /// The captured segments when `path` fits the pattern.
    func match(_ path: [Substring]) -> [String: String]? {
        guard path.count == segments.count else { return nil }
        var parameters: [String: String] = [:]
        for (pattern, segment) in zip(segments, path) {
            if pattern.first == ":" {
                parameters[String(pattern.dropFirst())] = String(segment)
            } else if pattern != segment {
                return nil
            }
        }
        return parameters
    }

    /// Literal segments: `/api/dlq/retry-all` is preferred over `/api/dlq/:id`.
    var specificity: Int { segments.count { $0.first != ":" } }
}

/// A request as a handler sees it: the HTTP request and the path's captures.
struct AdminRequest: Sendable {
    let http: HTTPRequest
    let parameters: [String: String]

    /// A path capture that must be a positive integer (an id).
    func id(_ name: String = "id") throws -> Int64 {
        let text = parameters[name] ?? ""
        guard let value = Int64(text), value > 0 else { throw OperationError.invalid("\(name) must be a positive integer, got \(text)") }
        return value
    }

    /// A query parameter that must be an integer in `1...maximum`; `value` when absent.
    func integer(_ name: String, default value: Int, maximum: Int) throws -> Int {
        guard let text = http.query[name] else { return value }
        guard let number = Int(text), (1...maximum).contains(number) else {
            throw OperationError.invalid("\(name) must be an integer from 1 to \(maximum), got \(text)")
        }
        return number
    }

    /// `true`/`1` or `false`/`0`; anything else is a 400, not a silent false.
    func boolean(_ name: String) throws -> Bool? {
        guard let text = http.query[name] else { return nil }
        switch text {
        case "true", "1": return true
        case "false", "0": return false
        default: throw OperationError.invalid("\(name) must be true or false, got \(jsonQuoted(text))")
        }
    }
}

/// The admin API's one router. It decides, in this order: which route
/// (404 when no pattern fits the path; 405 with `Allow` when the most
/// specific patterns that fit do not take the method; HEAD is answered as
/// GET), whether the caller may (401/403), and what a thrown error means
/// (`HTTPResponse.failure`). Handlers only do their work.
struct AdminRouter: HTTPResponder {
    let routes: [AdminRoute]
    /// Token for `.adminToken` routes; with none, those routes are refused.
    let adminToken: String?
    let logger: Logger

    init(routes: [AdminRoute], adminToken: String?, logger: Logger) {
        self.routes = routes
        self.adminToken = adminToken.flatMap { $0.isEmpty ? nil : $0 }
        self.logger = logger
    }

    func respond(to request: HTTPRequest) async -> HTTPResponse {
        switch resolve(request.method, request.path) {
        case .notFound:
            return .error(.notFound, "no route for \(request.method) \(request.path)")
        case .methodNotAllowed(let allowed):
            var response = HTTPResponse.error(.methodNotAllowed, "\(request.method) is not allowed on \(request.path)")
            response.headers.add(name: "Allow", value: allowed.map { "\($0)" }.joined(separator: ", "))
            return response
        case .route(let route, let parameters):
            if route.access == .adminToken, let refusal = authorize(request) { return refusal }
            do {
                return try await route.handler(AdminRequest(http: request, parameters: parameters))
            } catch {
                return .failure(error, for: request, logger: logger)
            }
        }
    }

    enum Resolution {
        case route(AdminRoute, [String: String])
        case notFound
        case methodNotAllowed([HTTPMethod])
    }

    /// Which route answers `method` on `path`.
    func resolve(_ method: HTTPMethod, _ path: String) -> Resolution {
        let segments = path.split(separator: "/")
        let fitting = routes.compactMap { route in route.match(segments).map { (route, $0) } }
        guard let best = fitting.map(\.0.specificity).max() else { return .notFound }
        let candidates = fitting.filter { $0.0.specificity == best }
        let asked = method == .HEAD ? .GET : method
        if let (route, parameters) = candidates.first(where: { $0.0.method == nil || $0.0.method == asked }) {
            return .route(route, parameters)
        }
        let allowed = candidates.compactMap(\.0.method)
        return .methodNotAllowed(allowed.contains(.GET) ? allowed + [.HEAD] : allowed)
    }

    /// 401 without credentials, 403 with wrong ones or when no token is configured.
    func authorize(_ request: HTTPRequest) -> HTTPResponse? {
        guard let expected = adminToken else {
            return .error(.forbidden, "admin actions are disabled: start hacksync with HACKSYNC_ADMIN_TOKEN set")
        }
        guard let token = HTTPRequest.bearerToken(in: request.headers) else {
            var response = HTTPResponse.error(.unauthorized, "this action needs Authorization: Bearer <admin token>")
            response.headers.add(name: "WWW-Authenticate", value: #"Bearer realm="hacksync""#)
            return response
        }
        return constantTimeEquals(expected, token) ? nil : .error(.forbidden, "wrong admin token")
    }
}
