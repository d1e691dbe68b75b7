import Logging

/// Wraps another handler: merges the logger's metadata, the provider's and
/// the call's, scrubs the message and every value with `LogRedaction`, and
/// passes the result on (the wrapped handler keeps no metadata of its own).
public struct RedactingLogHandler: LogHandler {
    public var wrapped: any LogHandler
    public let redaction: LogRedaction
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?

    public init(wrapping wrapped: any LogHandler, redaction: LogRedaction) {
        self.wrapped = wrapped
        self.redaction = redaction
    }

    public var logLevel: Logger.Level {
        get { wrapped.logLevel }
        set { wrapped.logLevel = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let merged = Logger.Metadata.merged(metadata, metadataProvider, event)
        var event = event
        event.message = "\(redaction.scrub(event.message.description))"
        event.metadata = merged.isEmpty ? nil : scrub(merged)
        wrapped.log(event: event)
    }

    func scrub(_ metadata: Logger.Metadata) -> Logger.Metadata {
        metadata.mapValues(scrub)
    }

    func scrub(_ value: Logger.Metadata.Value) -> Logger.Metadata.Value {
        switch value {
        case .string(let text): .string(redaction.scrub(text))
        case .stringConvertible(let convertible): .string(redaction.scrub(convertible.description))
        case .array(let values): .array(values.map(scrub))
        case .dictionary(let values): .dictionary(scrub(values))
        }
    }
}

extension Logger.Metadata {
    /// What a handler logs with: its own metadata, then the provider's, then
    /// the call's (later ones win).
    static func merged(_ own: Logger.Metadata, _ provider: Logger.MetadataProvider?, _ event: LogEvent) -> Logger.Metadata {
        var merged = own
        if let provided = provider?.get() { merged.merge(provided) { _, new in new } }
        if let explicit = event.metadata { merged.merge(explicit) { _, new in new } }
        return merged
    }
}
