import Foundation
import Import
import Model
import Postgres
import Server
import Testing

@Suite struct EventTimestampTests {
    /// 2024-03-01T12:00:00Z
    let noon: Int64 = 1_709_294_400 * 1_000_000

    @Test func iso8601VariantsMeanTheSameInstant() throws {
        for text in ["2024-03-01T12:00:00Z", "2024-03-01T12:00:00z", "2024-03-01 12:00:00Z", "2024-03-01T12:00:00",
                     "2024-03-01T17:30:00+05:30", "2024-03-01T17:30:00+0530", "2024-03-01T04:00:00-08", "2024-03-01T12:00Z"] {
            #expect(EventTimestamp(text)?.microseconds == noon, "\(text)")
        }
        #expect(EventTimestamp("2024-03-01T12:00:00.5Z")?.microseconds == noon + 500_000)
        #expect(EventTimestamp("2024-03-01T12:00:00.123456789Z")?.microseconds == noon + 123_456)
        #expect(EventTimestamp("2024-03-01T04:00:00,25-08:00")?.microseconds == noon + 250_000)
    }

    @Test func epochSecondsAndMilliseconds() {
        #expect(EventTimestamp(.number(1_709_294_400))?.microseconds == noon)
        #expect(EventTimestamp(.number(1_709_294_400_250))?.microseconds == noon + 250_000)
        #expect(EventTimestamp(.string("1709294400"))?.microseconds == noon)
        #expect(EventTimestamp(.string("1709294400250"))?.microseconds == noon + 250_000)
        #expect(EventTimestamp(.number(1_709_294_400.5))?.microseconds == noon + 500_000)
        #expect(EventTimestamp(.number(0))?.microseconds == 0)
    }

    @Test func rfc2822() {
        for text in ["Fri, 01 Mar 2024 12:00:00 +0000", "Fri, 1 Mar 2024 12:00:00 GMT", "01 Mar 2024 07:00:00 -0500",
                     "Fri, 01 Mar 2024 04:00:00 PST", "fri, 01 mar 2024 12:00 UT"] {
            #expect(EventTimestamp(text)?.microseconds == noon, "\(text)")
        }
    }

    @Test func anythingElseIsRefused() {
        for text in ["", "sometime last week", "2024-13-01T00:00:00Z", "2024-02-30T00:00:00Z", "2024-03-01T24:00:00Z",
                     "2024-03-01T12:00:00+25:00", "2024-03-01T12:00:00Zjunk", "Fri, 01 Foo 2024 12:00:00 +0000",
                     "Fri 01 Mar 2024 12:00:00 +0000", "1e400", "12:00", "2024-03-01"] {
            #expect(EventTimestamp(text) == nil, "\(text)")
        }
        #expect(EventTimestamp(.bool(true)) == nil)
        #expect(EventTimestamp(.null) == nil)
        #expect(EventTimestamp(.number(.infinity)) == nil)
    }

    @Test func leapYearsAndTheDescription() {
        #expect(EventTimestamp("2024-02-29T00:00:00Z") != nil)
        #expect(EventTimestamp("2023-02-29T00:00:00Z") == nil)
        #expect(EventTimestamp("2000-02-29T00:00:00Z") != nil)
        #expect(EventTimestamp("1900-02-29T00:00:00Z") == nil)
        #expect(EventTimestamp(microseconds: noon + 250_000).description == "2024-03-01T12:00:00.250000Z")
        #expect(EventTimestamp(microseconds: -1).description == "1969-12-31T23:59:59.999999Z")
        // Round trip over 400 years of days, a second before and after midnight.
        var day: Int64 = -150_000
        while day < 150_000 {
            for second: Int64 in [-1, 0, 1] {
                let t = EventTimestamp(microseconds: (day * 86_400 + second) * 1_000_000)
                #expect(EventTimestamp(t.description) == t)
            }
            day += 997
        }
    }
}

@Suite struct RateLimitPacerTests {
    /// A wall-clock time (resets above 10^9 are epoch times, below it seconds from now).
    let T = 1_700_000_000.0

    @Test func spreadsTheRemainingRequestsUntilTheReset() {
        var pacer = RateLimitPacer()
        #expect(pacer.reserve(now: T) == T)  // nothing known: at once
        pacer.observe(status: 200, headers: [("X-RateLimit-Limit", "10"), ("X-RateLimit-Remaining", "9"), ("X-RateLimit-Reset", "\(Int(T) + 10)")],
                      sentAt: T, now: T + 0.1)
        #expect(abs(pacer.spacing - 10.0 / 9.5) < 1e-9)
        #expect(abs(pacer.reserve(now: T + 0.2) - (T + 10.0 / 9.5)) < 1e-9)
    }

    @Test func noneRemainingWaitsForTheReset() {
        var pacer = RateLimitPacer()
        _ = pacer.reserve(now: T)
        pacer.observe(status: 200, headers: [("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "\(Int(T) + 3)")], sentAt: T, now: T + 0.1)
        #expect(pacer.reserve(now: T + 0.2) == T + 3 + RateLimitPacer.margin)
    }

    @Test func retryAfterInSecondsOrAsADate() {
        var pacer = RateLimitPacer()
        pacer.observe(status: 429, headers: [("Retry-After", "7")], sentAt: T, now: T + 1)
        #expect(pacer.reserve(now: T + 1) == T + 8)
        var dated = RateLimitPacer()
        dated.observe(status: 503, headers: [("Retry-After", "Fri, 01 Mar 2024 12:00:05 GMT")], sentAt: 1_709_294_399, now: 1_709_294_400)
        #expect(dated.reserve(now: 1_709_294_400) == 1_709_294_405)
        // On a success it is not a wait.
        var ok = RateLimitPacer()
        ok.observe(status: 200, headers: [("Retry-After", "7")], sentAt: T, now: T + 1)
        #expect(ok.reserve(now: T + 1) == T + 1)
    }

    @Test func ietfHeadersResetInSecondsFromNow() {
        let separate = RateLimitPacer.Announcement([("RateLimit-Limit", "100"), ("RateLimit-Remaining", "40"), ("RateLimit-Reset", "5")], now: 2000)
        #expect(separate.limit == 100 && separate.remaining == 40 && separate.reset == 2005 && separate.retryAfter == nil)
        let combined = RateLimitPacer.Announcement([("RateLimit", "limit=100, remaining=40, reset=5")], now: 2000)
        #expect(combined == separate)
    }

    @Test func aStaleAnnouncementDoesNotOverrideANewerOne() {
        var pacer = RateLimitPacer()
        pacer.observe(status: 200, headers: [("X-RateLimit-Remaining", "1"), ("X-RateLimit-Reset", "\(Int(T) + 10)")], sentAt: T + 5, now: T + 5.1)
        let spacing = pacer.spacing
        pacer.observe(status: 200, headers: [("X-RateLimit-Remaining", "50"), ("X-RateLimit-Reset", "\(Int(T) + 10)")], sentAt: T + 4, now: T + 5.2)
        #expect(pacer.spacing == spacing)
    }

    @Test func slotsAreSharedByStreams() {
        var pacer = RateLimitPacer()
        pacer.observe(status: 200, headers: [("X-RateLimit-Remaining", "10"), ("X-RateLimit-Reset", "\(Int(T) + 10)")], sentAt: T, now: T)
        let a = pacer.reserve(now: T), b = pacer.reserve(now: T)
        #expect(abs(a - (T + 10 / 10.5)) < 1e-9 && abs(b - (T + 20 / 10.5)) < 1e-9)
    }

    @Test(arguments: [(5, 0.005, 0.04), (20, 0.01, 0.02), (100, 0.002, 0.004)])
    func aFixedWindowSourceIsDrivenAtItsCeilingWithoutRefusals(limit: Int, latency: Double, jitter: Double) {
        // `limit` requests per 1 s window; a request reaches the source
        // `latency` plus up to `jitter` after it is sent, and its answer
        // comes back as late again; one request at a time.
        var pacer = RateLimitPacer()
        var random = SystemRandomNumberGenerator()
        var now = T, served = 0, refused = 0, windowStart = T, used = 0
        while now < T + 60 {
            now = pacer.reserve(now: now)
            let arrives = now + latency + Double.random(in: 0...jitter, using: &random)
            let window = arrives.rounded(.down)
            if window != windowStart { windowStart = window; used = 0 }
            var headers = [("X-RateLimit-Limit", "\(limit)"), ("X-RateLimit-Reset", String(Int(window) + 1))]
            let status: Int
            if used < limit { used += 1; served += 1; status = 200 } else { refused += 1; status = 429; headers.append(("Retry-After", "1")) }
            headers.append(("X-RateLimit-Remaining", String(limit - used)))
            let answered = arrives + latency
            pacer.observe(status: status, headers: headers, sentAt: now, now: answered)
            now = answered
        }
        #expect(refused == 0)
        #expect(Double(served) >= 0.97 * 60 * Double(limit), "\(served) of \(60 * limit)")
    }
}

@Suite struct SourceShapeTests {
    let shape = SourceShape()

    @Test func urls() {
        #expect(shape.url("http://h/events", at: .start, limit: 500) == "http://h/events?limit=500")
        #expect(shape.url("http://h/events?org=7", at: .cursor("a+b/c="), limit: 5) == "http://h/events?org=7&limit=5&cursor=a%2Bb%2Fc%3D")
        #expect(shape.url("http://h/events", at: .after("evt_9"), limit: 5) == "http://h/events?limit=5&after=evt_9")
        #expect(shape.url("http://h/events", at: .cursor("c"), limit: 5, partition: .init(2, of: 3))
                == "http://h/events?limit=5&partition=2&partitions=3&cursor=c")
    }

    @Test func aPage() {
        let body = #"{"data":[{"id":"a"},{"id":"b"}],"pagination":{"hasMore":true,"nextCursor":"c2","total":9,"cursorTtl":30}}"#
        guard case .page(let page) = shape.classify(status: 200, body: Array(body.utf8), position: .start) else {
            Issue.record("not a page"); return
        }
        #expect(page.records.count == 2 && page.nextCursor == "c2" && page.hasMore && page.total == 9 && page.cursorTTL == 30)
        let last = #"{"data":[],"pagination":{"hasMore":false,"nextCursor":null}}"#
        guard case .page(let lastPage) = shape.classify(status: 200, body: Array(last.utf8), position: .cursor("x")) else {
            Issue.record("not a page"); return
        }
        #expect(lastPage.records.isEmpty && lastPage.nextCursor == nil && !lastPage.hasMore && lastPage.total == nil)
        // hasMore without a cursor cannot continue: it ends.
        let stuck = #"{"data":[],"pagination":{"hasMore":true}}"#
        guard case .page(let end) = shape.classify(status: 200, body: Array(stuck.utf8), position: .start) else { Issue.record("not a page"); return }
        #expect(!end.hasMore)
    }

    @Test func refusals() {
        func answer(_ status: Int, _ body: String, _ position: SourceShape.Position = .cursor("c")) -> SourceShape.Answer {
            shape.classify(status: status, body: Array(body.utf8), position: position)
        }
        #expect(answer(429, "") == .rateLimited)
        guard case .transient = answer(503, "down") else { Issue.record("503"); return }
        guard case .transient = answer(200, "{\"data\":[") else { Issue.record("a cut body"); return }
        guard case .cursorRejected = answer(400, #"{"error":"cursor expired"}"#) else { Issue.record("expired cursor"); return }
        guard case .cursorRejected = answer(410, "gone") else { Issue.record("410"); return }
        guard case .pageSizeRejected = answer(400, #"{"error":"limit too large"}"#, .start) else { Issue.record("limit"); return }
        guard case .failed = answer(401, "no key") else { Issue.record("401"); return }
        guard case .failed = answer(200, #"{"items":[]}"#) else { Issue.record("no records"); return }
    }
}

@Suite struct ActivityRecordTests {
    @Test func aRecord() throws {
        let value = try JSONValue.parse(#"{"id":"e1","type":"commit","userId":7,"projectId":"3","timestamp":1709294400,"x":[1]}"#)
        let record = try ActivityRecord.parse(value).get()
        #expect(record.id == "e1" && record.kind == "commit" && record.userID == 7 && record.projectID == 3)
        #expect(record.occurredAt.microseconds == 1_709_294_400_000_000)
        #expect(try JSONValue.parse(record.payload) == value)
        let numbered = try ActivityRecord.parse(try JSONValue.parse(#"{"id":42,"timestamp":"2024-03-01T12:00:00Z","userId":"u_9"}"#)).get()
        #expect(numbered.id == "42" && numbered.userID == nil && numbered.kind == nil)
    }

    @Test func rejections() throws {
        func reason(_ json: String) throws -> String? {
            if case .failure(let rejection) = ActivityRecord.parse(try JSONValue.parse(json)) { return rejection.reason }
            return nil
        }
        #expect(try reason(#"{"id":"e1","timestamp":"yesterday"}"#)?.contains("no known format") == true)
        #expect(try reason(#"{"id":"e1"}"#) == "no timestamp")
        #expect(try reason(#"{"timestamp":1}"#)?.hasPrefix("no id") == true)
        #expect(try reason(#"{"id":"","timestamp":1}"#)?.hasPrefix("no id") == true)
        #expect(try reason(#"[1]"#) == "the record is not a JSON object")
        #expect(try reason(#"{"id":"e\u0000","timestamp":1}"#)?.contains("NUL") == true)
    }
}

@Suite struct PostgresCopyTextTests {
    @Test func escapes() {
        var copy = PostgresCopyText()
        copy.row("a\tb", nil, "c\\d\ne\rf", "")
        #expect(String(decoding: copy.bytes, as: UTF8.self) == "a\\tb\t\\N\tc\\\\d\\ne\\rf\t\n")
    }
}

@Suite struct ImportSettingsTests {
    @Test func theShownSourceHasNoCredentialsOrQuery() {
        let settings = ImportSettings(name: "x", source: "https://user:secret@events.example:8443/v1/activity?api_key=k&org=7#top")
        #expect(settings.displaySource == "https://events.example:8443/v1/activity")
    }
}
