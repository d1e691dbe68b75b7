import HTTP
import Logging
import NIOHTTP1

extension HTTPResponse {
    /// The answer to an admin request that threw: an operator's mistake
    /// (`OperationError`) gets its status and message; anything else means
    /// Postgres or Elasticsearch failed: logged with the request id, 503.
    static func failure(_ error: any Error, for request: HTTPRequest, logger: Logger) -> HTTPResponse {
        if let error = error as? OperationError {
            let status: HTTPResponseStatus = switch error.kind {
            case .notFound: .notFound
            case .conflict: .conflict
            case .invalid: .badRequest
            }
            return .error(status, error.message)
        }
        logger.warning("admin request failed", metadata: [
            "request_id": "\(request.id)", "http.path": "\(request.path)", "error": "\(error)",
        ])
        return .error(.serviceUnavailable, "\(error)")
    }
}
