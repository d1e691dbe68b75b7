/// A message from a subscriber, parsed and validated.
public enum ClientRequest: Equatable, Sendable {
    case subscribe(Subscription)
    case unsubscribe(Entity)
    /// Read-your-writes: answer once transaction `xid` is synced and searchable.
    case wait(xid: UInt64, timeout: Duration)

    public struct Invalid: Error, Equatable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// Parses `{"type":"subscribe",...}` / `{"type":"unsubscribe",...}` / `{"type":"wait",...}`.
    /// `authorized` subscribers may filter on private fields.
    public static func parse(_ text: some Collection<UInt8>, authorized: Bool) throws(Invalid) -> ClientRequest {
        let json: JSONValue
        do {
            json = try JSONValue.parse(text)
        } catch {
            throw Invalid(message: "not valid JSON")
        }
        guard let object = json.object else { throw Invalid(message: "a request is a JSON object") }
        guard let type = object["type"]?.string else { throw Invalid(message: "missing \"type\"") }
        if type == "wait" { return try parseWait(object) }
        guard let channelName = object["channel"]?.string else { throw Invalid(message: "missing \"channel\" (users, hackathons or projects)") }
        guard let channel = Entity(rawValue: channelName) else {
            throw Invalid(message: "unknown channel \(jsonQuoted(channelName)); use users, hackathons or projects")
        }
        switch type {
        case "unsubscribe":
            return .unsubscribe(channel)
        case "subscribe":
            var subscription = Subscription(channel: channel)
            for key in object.keys where !["type", "channel", "events", "where", "since", "changed"].contains(key) {
                throw Invalid(message: "unknown field \(jsonQuoted(key))")
            }
            if let events = object["events"] {
                guard let list = events.array, !list.isEmpty else { throw Invalid(message: "\"events\" is a non-empty list") }
                var wanted = Set<DocumentEvent.Operation>()
                for item in list {
                    guard let name = item.string, let operation = DocumentEvent.Operation(rawValue: name) else {
                        throw Invalid(message: "unknown event \(item); use insert, update or delete")
                    }
                    wanted.insert(operation)
                }
                subscription.events = wanted
            }
            if let filter = object["where"] {
                guard let pairs = filter.object else { throw Invalid(message: "\"where\" is an object of path: value") }
                for (path, value) in pairs {
                    if case .object = value { throw Invalid(message: "\"where\" values are strings, numbers, booleans or null") }
                    if case .array = value { throw Invalid(message: "\"where\" values are strings, numbers, booleans or null") }
                    let field = String(path.split(separator: ".").first ?? "")
                    if !authorized, DocumentDeclarations.privateFields(channel).contains(field) {
                        throw Invalid(message: "\(jsonQuoted(field)) is a private field; connect with the token to filter on it")
                    }
                }
                subscription.filter = pairs
            }
            if let changed = object["changed"] {
                guard let list = changed.array, !list.isEmpty else { throw Invalid(message: "\"changed\" is a non-empty list of top-level fields") }
                var fields = Set<String>()
                for item in list {
                    guard let field = item.string, !field.isEmpty, !field.contains(".") else {
                        throw Invalid(message: "\"changed\" names top-level fields, as strings (\(item) is not one)")
                    }
                    if !authorized, DocumentDeclarations.privateFields(channel).contains(field) {
                        throw Invalid(message: "\(jsonQuoted(field)) is a private field; connect with the token to filter on it")
                    }
                    fields.insert(field)
                }
                subscription.changed = fields
            }
            if let since = object["since"] {
                guard let n = since.number, n >= 0, n == n.rounded(), n < 9e18 else { throw Invalid(message: "\"since\" is a non-negative integer seq") }
                subscription.since = Int64(n)
            }
            return .subscribe(subscription)
        default:
            throw Invalid(message: "unknown type \(jsonQuoted(type)); use subscribe, unsubscribe or wait")
        }
    }

    /// `{"type":"wait","xid":N,"timeout_ms":T}`: the xid as `pg_current_xact_id()`
    /// gives it, a number or (beyond 2^53) a string of digits.
    private static func parseWait(_ object: [String: JSONValue]) throws(Invalid) -> ClientRequest {
        for key in object.keys where !["type", "xid", "timeout_ms"].contains(key) {
            throw Invalid(message: "unknown field \(jsonQuoted(key)) in a wait; use xid and timeout_ms")
        }
        let xid: UInt64?
        switch object["xid"] {
        case .number(let n): xid = n >= 0 && n == n.rounded() && n < 9_007_199_254_740_992 ? UInt64(n) : nil
        case .string(let digits): xid = digits.allSatisfy(\.isASCII) ? UInt64(digits) : nil
        default: xid = nil
        }
        guard let xid else {
            throw Invalid(message: "\"xid\" is a transaction id as pg_current_xact_id() gives it (a non-negative integer, or a string of digits)")
        }
        var timeout = WriteWaitResult.defaultTimeout
        if let value = object["timeout_ms"] {
            let limit = Double(WriteWaitResult.maximumTimeout / .milliseconds(1))
            guard let ms = value.number, ms > 0, ms == ms.rounded(), ms <= limit else {
                throw Invalid(message: "\"timeout_ms\" is a whole number of milliseconds from 1 to \(Int(limit))")
            }
            timeout = .milliseconds(Int64(ms))
        }
        return .wait(xid: xid, timeout: timeout)
    }
}
