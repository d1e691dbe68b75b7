import Model

/// Receives document events as they are settled, in seq order.
public protocol EventSink: Sendable {
    func publish(_ events: [DocumentEvent])
}
