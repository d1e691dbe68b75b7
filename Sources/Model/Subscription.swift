/// What a subscriber asked for on one channel.
public struct Subscription: Sendable, Equatable {
    public var channel: Entity
    /// Event types wanted; all three when the client named none.
    public var events: Set<DocumentEvent.Operation>
    /// Dotted document path → required value. All must match. A path that
    /// runs through an array matches when any element matches
    /// (`members.id: 7` — projects that have member 7).
    public var filter: [String: JSONValue]
    /// Replay every matching event after this seq before going live.
    public var since: Int64?
    /// Top-level fields: an update passes only when it changed at least one
    /// of them (inserts and deletes are not held back). nil: any update.
    public var changed: Set<String>?

    public init(channel: Entity, events: Set<DocumentEvent.Operation> = [.insert, .update, .delete],
                filter: [String: JSONValue] = [:], since: Int64? = nil, changed: Set<String>? = nil) {
        self.channel = channel
        self.events = events
        self.filter = filter
        self.since = since
        self.changed = changed
    }

    /// Whether an event passes this subscription. `document` is the event's
    /// parsed data (needed only when there is a filter), `changedFields` its
    /// parsed `changed` (needed only for a `changed` subscription; nil when
    /// the event does not say, as events logged before it was recorded:
    /// they pass).
    public func matches(_ event: DocumentEvent, document: () -> JSONValue?, changedFields: () -> Set<String>?) -> Bool {
        guard event.ref.entity == channel, events.contains(event.operation) else { return false }
        if let changed, event.operation == .update, let fields = changedFields(), fields.isDisjoint(with: changed) { return false }
        guard !filter.isEmpty else { return true }
        guard let document = document() else { return false }
        return filter.allSatisfy { path, expected in
            Self.value(document, at: path.split(separator: ".").map(String.init)[...], matches: expected)
        }
    }

    static func value(_ value: JSONValue, at path: ArraySlice<String>, matches expected: JSONValue) -> Bool {
        if case .array(let elements) = value {
            if path.isEmpty && expected.array != nil { return value == expected }
            return elements.contains { Self.value($0, at: path, matches: expected) }
        }
        guard let key = path.first else { return value == expected }
        guard let child = value[key] else { return expected == .null }
        return Self.value(child, at: path.dropFirst(), matches: expected)
    }
}
