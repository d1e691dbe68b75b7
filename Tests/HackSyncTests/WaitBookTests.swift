import Sync
import Testing

@Suite struct WaitBookTests {
    let start = ContinuousClock.now

    @Test func aWaiterIsReleasedByTheFirstRefreshThatStartedAfterItsChangesSettled() {
        var book = WaitBook(refreshInterval: .milliseconds(200))
        let a = book.register(xid: 10, deadline: start + .seconds(2))
        #expect(book.pendingXids == [10])
        #expect(book.refreshDue() == nil, "nothing settled: no refresh")

        book.observed(asked: [10], pending: [10], at: start + .milliseconds(10))
        #expect(book.refreshDue() == nil)
        book.observed(asked: [10], pending: [], at: start + .milliseconds(50))
        #expect(book.pendingXids.isEmpty, "not asked about again")
        #expect(book.refreshDue() == start + .milliseconds(50))

        // A refresh that started before the settle was seen does not release it.
        book.refreshStarted(at: start + .milliseconds(40))
        #expect(book.refreshFinished(succeeded: true).isEmpty)
        #expect(book.refreshDue() == start + .milliseconds(240), "one refresh per interval")
        book.refreshStarted(at: start + .milliseconds(240))
        #expect(book.refreshDue() == nil, "one refresh at a time")
        #expect(book.refreshFinished(succeeded: true) == [a])
        #expect(book.isEmpty)
    }

    @Test func oneRefreshReleasesEveryWaiterItCoversAndAFailedOneNobody() {
        var book = WaitBook(refreshInterval: .milliseconds(200))
        let a = book.register(xid: 1, deadline: start + .seconds(2))
        let b = book.register(xid: 2, deadline: start + .seconds(2))
        let c = book.register(xid: 2, deadline: start + .seconds(2))
        let d = book.register(xid: 3, deadline: start + .seconds(2))
        book.observed(asked: [1, 2, 3], pending: [3], at: start)
        book.refreshStarted(at: start + .milliseconds(1))
        #expect(book.refreshFinished(succeeded: false).isEmpty)
        book.refreshStarted(at: start + .milliseconds(201))
        #expect(book.refreshFinished(succeeded: true) == [a, b, c])
        #expect(book.pendingXids == [3])
        _ = d
    }

    /// The actor registers waiters while it reads the change log: one that
    /// came in meanwhile was not asked about, so the read says nothing of it.
    @Test func aWaiterRegisteredDuringARead() {
        var book = WaitBook()
        let early = book.register(xid: 1, deadline: start + .seconds(2))
        let asked = book.pendingXids
        let late = book.register(xid: 2, deadline: start + .seconds(2))
        book.observed(asked: asked, pending: [], at: start)
        #expect(book.pendingXids == [2], "still to be looked up")
        book.refreshStarted(at: start + .milliseconds(1))
        #expect(book.refreshFinished(succeeded: true) == [early])
        _ = late
    }

    @Test func aWaiterPastItsDeadlineSaysWhatItWasWaitingFor() {
        var book = WaitBook()
        let syncing = book.register(xid: 1, deadline: start + .milliseconds(100))
        let refreshing = book.register(xid: 2, deadline: start + .milliseconds(300))
        book.observed(asked: [1, 2], pending: [1], at: start)
        #expect(book.nextDeadline == start + .milliseconds(100))
        #expect(book.expire(at: start + .milliseconds(50)).isEmpty)
        #expect(book.expire(at: start + .milliseconds(100)).map(\.0) == [syncing])
        book.refreshStarted(at: start + .milliseconds(150))  // a refresh that never finishes in time
        let expired = book.expire(at: start + .milliseconds(300))
        #expect(expired.map(\.0) == [refreshing])
        #expect(expired.first?.1 == .timedOut(pendingChanges: false))
        #expect(book.isEmpty)
        #expect(book.refreshFinished(succeeded: true).isEmpty)
    }
}
