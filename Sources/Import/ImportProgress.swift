/// An import's counters, as its checkpoint row keeps them, and the
/// progress line drawn from them.
public struct ImportProgress: Sendable, Equatable {
    public var pages: Int64 = 0
    /// Records read from the source (duplicates and dead letters included).
    public var records: Int64 = 0
    /// Rows that were new to `activity_events`.
    public var inserted: Int64 = 0
    /// Records whose id was already there (sent twice, or read again).
    public var duplicates: Int64 = 0
    public var deadLettered: Int64 = 0
    /// 429 answers.
    public var rateLimited: Int64 = 0
    /// Requests asked again after a 5xx, a timeout or a cut connection.
    public var retries: Int64 = 0
    /// Expired or refused cursors recovered from the checkpoint.
    public var cursorRecoveries: Int64 = 0
    /// Records in all, when the source says.
    public var total: Int64?

    public init() {}

    /// `1,234,000 / 3,000,000 records  41.1%  19,870/s  ETA 1m29s  429s 0  retries 2  dead 12`:
    /// `rate` is records per second of this run.
    public func line(rate: Double) -> String {
        var parts = ["\(Self.grouped(records))\(total.map { " / \(Self.grouped($0))" } ?? "") records"]
        if let total, total > 0 {
            let share = min(100, Double(records) / Double(total) * 100)
            parts.append(String(Int(share * 10) / 10) + "." + String(Int(share * 10) % 10) + "%")
        }
        parts.append("\(Self.grouped(Int64(rate.rounded())))/s")
        if let total, rate > 0, total > records {
            parts.append("ETA \(Self.duration(Double(total - records) / rate))")
        }
        parts.append("429s \(rateLimited)")
        parts.append("retries \(retries)")
        parts.append("dead \(deadLettered)")
        if cursorRecoveries > 0 { parts.append("cursor recoveries \(cursorRecoveries)") }
        return parts.joined(separator: "  ")
    }

    static func grouped(_ value: Int64) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (index, character) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(character)
        }
        return (value < 0 ? "-" : "") + out
    }

    static func duration(_ seconds: Double) -> String {
        let whole = Int(seconds.rounded(.up))
        if whole >= 3600 { return "\(whole / 3600)h\(whole / 60 % 60)m" }
        if whole >= 60 { return "\(whole / 60)m\(whole % 60)s" }
        return "\(whole)s"
    }
}
