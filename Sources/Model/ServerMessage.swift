/// Messages the server sends, as JSON text.
public enum ServerMessage {
    public static func subscribed(_ s: Subscription) -> String {
        let events = s.events.map(\.rawValue).sorted().map(jsonQuoted).joined(separator: ",")
        var text = #"{"type":"subscribed","channel":"\#(s.channel.rawValue)","events":[\#(events)],"where":\#(JSONValue.object(s.filter))"#
        if let since = s.since { text += #","since":\#(since)"# }
        if let changed = s.changed { text += #","changed":[\#(changed.sorted().map(jsonQuoted).joined(separator: ","))]"# }
        return text + "}"
    }

    public static func unsubscribed(_ channel: Entity) -> String {
        #"{"type":"unsubscribed","channel":"\#(channel.rawValue)"}"#
    }

    public static func error(_ message: String) -> String {
        #"{"type":"error","message":\#(jsonQuoted(message))}"#
    }

    /// The answer to a `wait`: the transaction is synced and searchable, and
    /// every event up to `seq` that this subscriber's channels match was
    /// sent before this message.
    public static func synced(xid: UInt64, seq: Int64) -> String {
        #"{"type":"synced","xid":\#(xid),"seq":\#(seq)}"#
    }

    /// The answer to a `wait` whose timeout passed, with what was still outstanding.
    public static func waitTimedOut(xid: UInt64, pendingChanges: Bool) -> String {
        let message = "timed out waiting for " + (pendingChanges ? "changes of the transaction to sync" : "the index refresh")
        return #"{"type":"timeout","xid":\#(xid),"synced":false,"waiting_for":"\#(pendingChanges ? "sync" : "refresh")","message":\#(jsonQuoted(message))}"#
    }

    /// Sent before a replay that cannot start where the client asked.
    public static func gap(channel: Entity, requestedSince: Int64, oldestAvailable: Int64?) -> String {
        let oldest = oldestAvailable.map(String.init) ?? "null"
        let message = "events after \(requestedSince) up to \(oldestAvailable.map { String($0 - 1) } ?? "now") are no longer retained; replaying what is left, then live"
        return #"{"type":"gap","channel":"\#(channel.rawValue)","requested_since":\#(requestedSince),"oldest_available":\#(oldest),"message":\#(jsonQuoted(message))}"#
    }

    /// An event, with the document (and what changed) embedded as the raw JSON Postgres built.
    public static func event(_ event: DocumentEvent, data: String, changed: String?, previous: String?) -> String {
        let change = (changed.map { #","changed":\#($0)"# } ?? "") + (previous.map { #","previous":\#($0)"# } ?? "")
        return #"{"type":"event","seq":\#(event.seq),"channel":"\#(event.ref.entity.rawValue)","event":"\#(event.operation.rawValue)","id":"\#(event.ref.id)","data":\#(data)\#(change),"at":"\#(event.at)"}"#
    }
}
