/// When the next request to a rate-limited source may go, from what its
/// responses announce. Times are wall-clock seconds since the epoch (a
/// `Retry-After` date and an `X-RateLimit-Reset` are wall-clock).
///
/// - `Retry-After` (seconds or an HTTP date) on a 429 or 503: nothing
///   before then.
/// - A limit, a remaining count and a reset (`X-RateLimit-*`, `RateLimit-*`,
///   or the structured `RateLimit: limit=…, remaining=…, reset=…`): the
///   remaining requests are spread evenly until just before the reset, so the source's
///   ceiling is reached without the burst-then-429 of sending until
///   refused; none remaining: nothing before the reset.
/// - Nothing announced: no pacing (the caller's backoff handles refusals).
///
/// Every request takes a slot (`reserve`), so requests from several
/// streams share one pace.
public struct RateLimitPacer: Sendable, Equatable {
    /// No request before this.
    public private(set) var notBefore: Double = 0
    /// Between two requests, as the last announcement spreads them.
    public private(set) var spacing: Double = 0
    /// The last announced limit per window, and the window's length when known.
    public private(set) var limit: Int?
    /// When the request behind the newest announcement was sent: an older one's is stale.
    private var newestSentAt: Double = -.infinity
    /// The last slot handed out.
    private var lastSlot: Double = -.infinity
    /// Slack after a reset, for a source clock a little behind ours.
    public static let margin = 0.05

    public init() {}

    /// Takes the next slot: when to send (never before `now`).
    public mutating func reserve(now: Double) -> Double {
        let at = max(now, notBefore)
        notBefore = at + spacing
        lastSlot = at
        return at
    }

    /// What a response (to a request sent at `sentAt`) announced.
    public mutating func observe(status: Int, headers: [(String, String)], sentAt: Double, now: Double) {
        let announced = Announcement(headers, now: now)
        if let retryAfter = announced.retryAfter, status == 429 || status == 503 {
            notBefore = max(notBefore, retryAfter)
            return
        }
        if status == 429, let reset = announced.reset {
            notBefore = max(notBefore, reset + Self.margin)
            return
        }
        guard sentAt >= newestSentAt, let remaining = announced.remaining, let reset = announced.reset else { return }
        newestSentAt = sentAt
        limit = announced.limit ?? limit
        if remaining <= 0 {
            notBefore = max(now, reset + Self.margin)
            spacing = 0
        } else {
            // Half a slot short of the reset: the last request of the window
            // lands inside it even when it reaches the source a little late
            // (spread to the very end, one in five of 5/s went to the next window).
            spacing = max(0, reset - sentAt) / (Double(remaining) + 0.5)
            notBefore = max(now, max(sentAt, lastSlot) + spacing)
        }
    }

    /// The rate-limit headers of one response, times made absolute.
    public struct Announcement: Sendable, Equatable {
        public var limit: Int?
        public var remaining: Int?
        public var reset: Double?
        public var retryAfter: Double?

        public init(_ headers: [(String, String)], now: Double) {
            var values: [String: String] = [:]
            for (name, value) in headers { values[name.lowercased()] = value.trimmingSpaces }
            func number(_ names: String...) -> Double? {
                for name in names { if let text = values[name], let value = Double(text), value.isFinite, value >= 0 { return value } }
                return nil
            }
            var limit = number("x-ratelimit-limit", "ratelimit-limit")
            var remaining = number("x-ratelimit-remaining", "ratelimit-remaining")
            var reset = number("x-ratelimit-reset", "ratelimit-reset")
            // draft-ietf-httpapi-ratelimit-headers: RateLimit: limit=100, remaining=50, reset=5
            if let combined = values["ratelimit"] {
                for part in combined.split(whereSeparator: { $0 == "," || $0 == ";" }) {
                    let pair = part.split(separator: "=", maxSplits: 1).map { String($0).trimmingSpaces }
                    guard pair.count == 2, let value = Double(pair[1]), value >= 0 else { continue }
                    switch pair[0].lowercased() {
                    case "limit": limit = limit ?? value
                    case "remaining", "r": remaining = remaining ?? value
                    case "reset", "t": reset = reset ?? value
                    default: break
                    }
                }
            }
            self.limit = limit.map { Int($0) }
            self.remaining = remaining.map { Int($0) }
            // An epoch time (GitHub, X-RateLimit-Reset) or seconds from now (the IETF headers).
            self.reset = reset.map { $0 > 1_000_000_000 ? $0 : now + $0 }
            if let text = values["retry-after"] {
                if let seconds = Double(text), seconds.isFinite, seconds >= 0 {
                    retryAfter = now + seconds
                } else if let date = EventTimestamp(text) {
                    retryAfter = Double(date.microseconds) / 1_000_000
                }
            }
        }
    }
}

extension String {
    var trimmingSpaces: String {
        var text = Substring(self)
        while text.first == " " || text.first == "\t" { text = text.dropFirst() }
        while text.last == " " || text.last == "\t" { text = text.dropLast() }
        return String(text)
    }
}
