import Logging

/// How log lines look: readable text (the default) or one JSON object per line.
public enum LogFormat: String, Sendable, CaseIterable {
    case text, json
}

public enum LogSetup {
    /// Installs the process-wide log handler: `format` at `level`, every line
    /// scrubbed of credentials and of the given secrets.
    public static func bootstrap(format: LogFormat, level: Logger.Level, secrets: [String?] = []) {
        let redaction = LogRedaction(secrets: secrets)
        LoggingSystem.bootstrap { label in
            let inner: any LogHandler = switch format {
            case .text: StreamLogHandler.standardError(label: label)
            case .json: JSONLogHandler.standardError(label: label)
            }
            var handler = RedactingLogHandler(wrapping: inner, redaction: redaction)
            handler.logLevel = level
            return handler
        }
    }
}
