import Sync
import Testing

/// The index build's concurrency decisions, without a cluster.
@Suite struct IndexBuildPipelineTests {
    @Test func theWindowGrowsByOneARoundAndHalvesOnOverload() {
        var window = InFlightWindow(maximum: 8)
        #expect(window.limit == 1)
        window.accepted()
        #expect(window.limit == 2, "one accepted request is a full round at one")
        window.accepted()
        #expect(window.limit == 2)
        window.accepted()
        #expect(window.limit == 3, "two in a row at two")
        for _ in 0..<3 { window.accepted() }
        #expect(window.limit == 4)
        window.overloaded()
        #expect(window.limit == 2)
        window.overloaded()
        window.overloaded()
        #expect(window.limit == 1, "never below one")
        for _ in 0..<100 { window.accepted() }
        #expect(window.limit == 8, "never above the maximum")
    }

    @Test func theCheckpointMovesOnlyOverTheCompletePrefix() {
        var checkpoint = PageCheckpoint()
        let a = checkpoint.issued(lastID: 100, count: 100)
        let b = checkpoint.issued(lastID: 200, count: 100)
        let c = checkpoint.issued(lastID: 250, count: 50)
        #expect(checkpoint.inFlight == 3)
        #expect(checkpoint.finished(b) == nil, "page a is still in flight: a resumed build must redo it")
        #expect(checkpoint.finished(c) == nil)
        #expect(checkpoint.finished(a) == .init(lastID: 250, copied: 250), "a completes the prefix through c")
        #expect(checkpoint.inFlight == 0)
        let d = checkpoint.issued(lastID: 300, count: 50)
        #expect(checkpoint.finished(d) == .init(lastID: 300, copied: 50))
        #expect(checkpoint.finished(d) == nil, "a ticket counts once")
    }

    /// Every completion order of five pages moves the checkpoint to the end,
    /// never past an unfinished page, counting each document once.
    @Test func everyCompletionOrderReachesTheEndCountingEachPageOnce() {
        func permutations(_ items: [Int]) -> [[Int]] {
            items.count <= 1 ? [items] : items.indices.flatMap { i in
                permutations(Array(items[..<i] + items[(i + 1)...])).map { [items[i]] + $0 }
            }
        }
        for order in permutations(Array(0..<5)) {
            var checkpoint = PageCheckpoint()
            let tickets = (0..<5).map { checkpoint.issued(lastID: Int64(($0 + 1) * 10), count: 10) }
            var done = Set<Int>()
            var position: Int64 = 0, copied = 0
            for index in order {
                done.insert(index)
                if let advance = checkpoint.finished(tickets[index]) {
                    position = advance.lastID
                    copied += advance.copied
                }
                let prefix = (0..<5).prefix { done.contains($0) }.count
                #expect(position == Int64(prefix * 10), "order \(order)")
            }
            #expect(copied == 50)
        }
    }
}
