import Foundation
import Server
import Testing

@Suite struct ReplicationTests {
    @Test func psqlVariablesAreQuotedOnceAndCommentsDropped() throws {
        let sql = """
            -- a comment with :'conninfo' in it
            CREATE SUBSCRIPTION :"name"
                CONNECTION :'conninfo'
                PUBLICATION hacksync_platform;
            """
        let text = try ReplicationSQL.substitute(sql, ["name": "sub_1", "conninfo": "host=db password='it''s' app=:'x'"])
        #expect(text == """
            CREATE SUBSCRIPTION "sub_1"
                CONNECTION 'host=db password=''it''''s'' app=:''x'''
                PUBLICATION hacksync_platform;
            """)
        #expect(throws: ReplicationSQL.Failure.self) { try ReplicationSQL.substitute("SELECT :'missing'", [:]) }
        #expect(throws: ReplicationSQL.Failure.self) { try ReplicationSQL.substitute("SELECT :'open", ["open": "x"]) }
        #expect(throws: ReplicationSQL.Failure.self) { try ReplicationSQL.quoteLiteral("a\0b") }
    }

    @Test func subscriptionNamesAreIdentifiersPostgresKeepsAsWritten() {
        #expect(ReplicationSQL.isValidName("hacksync_replica"))
        #expect(ReplicationSQL.isValidName("sub_2a"))
        for bad in ["", "Sub", "2sub", "a-b", "a b", String(repeating: "a", count: 64), "x\"; DROP"] {
            #expect(!ReplicationSQL.isValidName(bad), "\(bad)")
        }
    }

    @Test func aSlotWithoutSubscriberIsStalledOnlyAfterTheLimit() {
        let monitor = ReplicationMonitor(stallAfter: .seconds(30), maxRetainedBytes: 1 << 20)
        let start = Date(timeIntervalSince1970: 1_000_000)
        let down = ReplicationMonitor.Observation(slot: "s", active: false, lagBytes: 4096, retainedBytes: 8192)
        #expect(monitor.judge([down], now: start)[0].stalled == false)
        let later = monitor.judge([down], now: start.addingTimeInterval(31))[0]
        #expect(later.stalled && later.lagSeconds == 31 && later.problems.count == 1)
        // Back and caught up: no longer stalled, and the clock starts afresh next time.
        let back = ReplicationMonitor.Observation(slot: "s", active: true, state: "streaming", lagBytes: 0, retainedBytes: 100,
                                                  replayLag: nil, sinceReply: 1)
        let caughtUp = monitor.judge([back], now: start.addingTimeInterval(40))[0]
        #expect(!caughtUp.stalled && caughtUp.lagSeconds == 0 && caughtUp.problems.isEmpty)
        #expect(monitor.judge([down], now: start.addingTimeInterval(50))[0].stalled == false)
    }

    @Test func silenceRetainedWALAndLostSlotsAreProblems() {
        let monitor = ReplicationMonitor(stallAfter: .seconds(2), maxRetainedBytes: 1 << 20)
        let now = Date()
        let idle = ReplicationMonitor.Observation(slot: "idle", active: true, lagBytes: 0, retainedBytes: 0, sinceReply: 9)
        let silent = ReplicationMonitor.Observation(slot: "silent", active: true, lagBytes: 500, retainedBytes: 0, replayLag: 0.2, sinceReply: 20)
        let heavy = ReplicationMonitor.Observation(slot: "heavy", active: true, walStatus: "extended", lagBytes: 10, retainedBytes: 3 << 20,
                                                   replayLag: 0.05, sinceReply: 1)
        let lost = ReplicationMonitor.Observation(slot: "lost", active: false, walStatus: "lost", lagBytes: 0, retainedBytes: 0)
        let slots = monitor.judge([idle, silent, heavy, lost], now: now)
        #expect(slots[0].problems.isEmpty && !slots[0].stalled)
        #expect(slots[1].stalled && slots[1].problems[0].contains("no reply"))
        #expect(!slots[2].stalled && slots[2].problems == ["retains 3 MiB of WAL (limit 1 MiB)"] && slots[2].lagSeconds == 0.05)
        #expect(slots[3].problems.count == 1 && slots[3].problems[0].contains("lost WAL"))
    }
}
