/// Why an operator's request could not be carried out, one case per reason.
/// The admin API maps each case to its HTTP status in one place
/// (`HTTPResponse.failure`); the CLI prints the message and exits non-zero.
public enum OperationError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The request names something that does not exist (a dead letter, a job).
    case notFound(String)
    /// The request itself is malformed: a bad id, limit, body or index name.
    case invalid(String)
    /// An index job for the entity runs already, here or in another instance.
    case jobRunning(String)
    /// The dead letter was resolved already (synced or discarded).
    case alreadyResolved(String)
    /// An index job stopped before its end (the index kept failing, or its
    /// target vanished); it resumes from its checkpoint on the next start.
    case jobInterrupted(String)

    public var description: String {
        switch self {
        case .notFound(let message), .invalid(let message), .jobRunning(let message),
             .alreadyResolved(let message), .jobInterrupted(let message):
            message
        }
    }
}
