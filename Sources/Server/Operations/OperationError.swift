/// Why an operator's request could not be carried out. The admin API maps
/// each kind to an HTTP status; the CLI prints the message and exits non-zero.
public struct OperationError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable { case notFound, conflict, invalid }
    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
