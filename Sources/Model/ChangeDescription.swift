/// What an update event changed, as one readable line for a terminal
/// (`hacksync-watch`): `members: Mei Hamilton → Ada Lovelace; name: Compas → Compass`.
/// Scalars old → new; embedded rows (objects, arrays of objects) compared by
/// id and named by their `name` or `username`; long values shortened.
public enum ChangeDescription {
    /// nil when the event does not say what changed (an insert, a delete,
    /// an event logged before changes were recorded).
    public static func describe(data: JSONValue?, changed: JSONValue?, previous: JSONValue?) -> String? {
        guard let fields = changed?.array?.compactMap(\.string), !fields.isEmpty, let previous else { return nil }
        let parts = fields.map { field -> String in
            "\(field): " + describe(from: previous[field] ?? .null, to: data?[field] ?? .null)
        }
        return parts.joined(separator: "; ")
    }

    static func describe(from old: JSONValue, to new: JSONValue) -> String {
        if let before = old.array, let after = new.array {
            let removed = before.filter { element in !after.contains { same($0, element) } }
            let added = after.filter { element in !before.contains { same($0, element) } }
            // The same row (by id) with other content: a member renamed.
            let modified = after.compactMap { element -> (JSONValue, JSONValue)? in
                guard let earlier = before.first(where: { same($0, element) }), earlier != element else { return nil }
                return (earlier, element)
            }
            if removed.count == 1 && added.count == 1 && modified.isEmpty { return label(removed[0]) + " → " + label(added[0]) }
            let change = added.map { "+" + label($0) } + removed.map { "−" + label($0) } + modified.map { label($0.0) + " → " + label($0.1) }
            return change.isEmpty ? "reordered" : change.joined(separator: ", ")
        }
        return label(old) + " → " + label(new)
    }

    /// Two array elements are the same row when their ids match (or, without ids, when they are equal).
    static func same(_ a: JSONValue, _ b: JSONValue) -> Bool {
        if let idA = a["id"], let idB = b["id"] { return idA == idB }
        return a == b
    }

    static func label(_ value: JSONValue) -> String {
        switch value {
        case .string(let text): return shortened(text)
        case .object:
            if let name = value["name"]?.string ?? value["username"]?.string { return shortened(name) }
            if let id = value["id"] { return "#\(id)" }
            return shortened(value.description)
        default: return shortened(value.description)
        }
    }

    static func shortened(_ text: String, limit: Int = 40) -> String {
        text.count <= limit ? text : String(text.prefix(limit - 1)) + "…"
    }
}
