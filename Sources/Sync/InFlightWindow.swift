/// How many bulk requests an index build keeps in flight, chosen from what
/// the cluster accepts: additive increase, multiplicative decrease. It grows
/// by one each time `limit` requests in a row were accepted (one round of
/// the current window), and halves when the cluster refuses one as
/// overloaded (429, or its write queue full), down to one.
public struct InFlightWindow: Sendable, Equatable {
    public let maximum: Int
    public private(set) var limit: Int
    private var acceptedInRow = 0

    public init(initial: Int = 1, maximum: Int) {
        self.maximum = max(1, maximum)
        self.limit = min(self.maximum, max(1, initial))
    }

    /// A request was written without the cluster asking for less.
    public mutating func accepted() {
        acceptedInRow += 1
        guard acceptedInRow >= limit, limit < maximum else { return }
        limit += 1
        acceptedInRow = 0
    }

    /// The cluster refused a request as overloaded.
    public mutating func overloaded() {
        limit = max(1, limit / 2)
        acceptedInRow = 0
    }
}

/// The checkpoint of an index build whose pages are written concurrently:
/// pages are issued in key order, finish in any order, and the checkpoint
/// moves only over the prefix that is complete, so a resumed build never
/// skips a page that was in flight when it stopped.
public struct PageCheckpoint: Sendable {
    public struct Advance: Sendable, Equatable {
        /// The last id of the complete prefix: the next run starts after it.
        public var lastID: Int64
        /// Documents the prefix grew by.
        public var copied: Int

        public init(lastID: Int64, copied: Int) {
            self.lastID = lastID
            self.copied = copied
        }
    }

    private var pages: [Int: (lastID: Int64, count: Int)] = [:]
    private var finished: Set<Int> = []
    private var nextTicket = 0
    /// The first page not yet part of the complete prefix.
    private var firstOpen = 0

    public init() {}

    public var inFlight: Int { pages.count - finished.count }

    /// Registers the next page (in key order); its ticket comes back with `finished`.
    public mutating func issued(lastID: Int64, count: Int) -> Int {
        defer { nextTicket += 1 }
        pages[nextTicket] = (lastID, count)
        return nextTicket
    }

    /// Marks a page written; returns how far the checkpoint moves, if at all.
    public mutating func finished(_ ticket: Int) -> Advance? {
        guard pages[ticket] != nil else { return nil }
        finished.insert(ticket)
        var advance: Advance?
        while finished.contains(firstOpen), let page = pages[firstOpen] {
            advance = Advance(lastID: page.lastID, copied: (advance?.copied ?? 0) + page.count)
            finished.remove(firstOpen)
            pages[firstOpen] = nil
            firstOpen += 1
        }
        return advance
    }
}
