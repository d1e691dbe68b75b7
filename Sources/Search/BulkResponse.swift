/// The per-item results of a `_bulk` request, in request order.
public struct BulkResponse: Decodable, Sendable {
    public var errors: Bool
    public var items: [Item]

    public struct Item: Decodable, Sendable {
        public var action: String
        public var index: String?
        public var id: String?
        public var status: Int
        public var result: String?
        public var error: ItemError?

        public struct ItemError: Decodable, Sendable {
            public var type: String
            public var reason: String?

            public init(type: String, reason: String?) {
                self.type = type
                self.reason = reason
            }
        }

        struct Body: Decodable {
            var _index: String?
            var _id: String?
            var status: Int
            var result: String?
            var error: ItemError?
        }

        public init(action: String, index: String?, id: String?, status: Int, result: String?, error: ItemError?) {
            self.action = action
            self.index = index
            self.id = id
            self.status = status
            self.result = result
            self.error = error
        }

        public init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            let wrapped = try container.decode([String: Body].self)
            guard let (action, body) = wrapped.first else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "empty bulk item")
            }
            self.init(action: action, index: body._index, id: body._id, status: body.status, result: body.result, error: body.error)
        }
    }
}
