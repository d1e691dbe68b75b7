import Foundation
import Logging
import Model
import Synchronization

/// One JSON object per line: `ts` (UTC, milliseconds), `level`, `logger`,
/// `message`, `source`, then the metadata as top-level keys (a key that
/// collides with those five is written as `meta.<key>`).
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    let label: String
    let write: @Sendable (String) -> Void

    static let reserved: Set<String> = ["ts", "level", "logger", "message", "source"]

    /// Writes to standard error, one `write(2)` per line under a lock, so
    /// lines from concurrent tasks never interleave.
    public static func standardError(label: String) -> JSONLogHandler {
        JSONLogHandler(label: label) { line in
            standardErrorLock.withLock { _ in
                var bytes = Array(line.utf8)[...]
                while !bytes.isEmpty {
                    let written = bytes.withUnsafeBytes { Foundation.write(2, $0.baseAddress, $0.count) }
                    if written <= 0 { break }
                    bytes = bytes.dropFirst(written)
                }
            }
        }
    }

    private static let standardErrorLock = Mutex(())

    public init(label: String, write: @escaping @Sendable (String) -> Void) {
        self.label = label
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let merged = Logger.Metadata.merged(metadata, metadataProvider, event)
        var line = #"{"ts":"\#(Self.timestamp(Date()))","level":"\#(event.level.rawValue)","logger":\#(jsonQuoted(label)),"#
        line += #""message":\#(jsonQuoted(event.message.description)),"source":\#(jsonQuoted(event.source))"#
        for key in merged.keys.sorted() {
            let name = Self.reserved.contains(key) ? "meta." + key : key
            line += "," + jsonQuoted(name) + ":" + Self.json(merged[key]!)
        }
        write(line + "}\n")
    }

    static func json(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let text): jsonQuoted(text)
        case .stringConvertible(let convertible): jsonQuoted(convertible.description)
        case .array(let values): "[" + values.map(json).joined(separator: ",") + "]"
        case .dictionary(let values):
            "{" + values.keys.sorted().map { jsonQuoted($0) + ":" + json(values[$0]!) }.joined(separator: ",") + "}"
        }
    }

    /// `2026-11-21T23:30:00.123Z`
    static func timestamp(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        let millis = Int((date.timeIntervalSince1970 - Double(seconds)) * 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int = 2) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1))-\(pad(parts.tm_mday))T"
            + "\(pad(parts.tm_hour)):\(pad(parts.tm_min)):\(pad(parts.tm_sec)).\(pad(Int32(millis), 3))Z"
    }
}
