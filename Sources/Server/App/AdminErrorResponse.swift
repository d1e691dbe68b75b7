import HTTP
import Logging
import NIOHTTP1

extension OperationError {
    /// The one mapping of an operator's failed request to an HTTP status.
    var status: HTTPResponseStatus {
        switch self {
        case .notFound: .notFound
        case .invalid: .badRequest
        case .jobRunning, .alreadyResolved: .conflict
        case .jobInterrupted: .serviceUnavailable
        }
    }
}

extension HTTPResponse {
    /// The answer to an admin request that threw: an `OperationError` gets
    /// its status and message; anything else means Postgres or Elasticsearch
    /// failed: logged with the request id, 503.
    static func failure(_ error: any Error, for request: HTTPRequest, logger: Logger) -> HTTPResponse {
        if let error = error as? OperationError { return .error(error.status, error.description) }
        logger.warning("admin request failed", metadata: [
            "request_id": "\(request.id)", "http.path": "\(request.path)", "error": "\(error)",
        ])
        return .error(.serviceUnavailable, "\(error)")
    }
}
