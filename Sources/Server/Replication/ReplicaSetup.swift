import Foundation
import Logging
import Model
import Postgres

/// Sets up, and takes down, logical replication of the platform tables from
/// the source database into a subscriber database. Every step checks first,
/// so running `initialize` again only does what is missing.
public struct ReplicaSetup: Sendable {
    public var sourceURL: String
    public var subscriberURL: String
    /// How the subscriber reaches the source (defaults to `sourceURL`; differs
    /// when the two see each other under other host names).
    public var sourceConninfo: String
    public var name: String
    public var migrations: URL
    public var logger: Logger

    public init(sourceURL: String, subscriberURL: String, sourceConninfo: String? = nil,
                name: String = ReplicationSQL.defaultSubscription, migrations: URL, logger: Logger) throws {
        guard ReplicationSQL.isValidName(name) else {
            throw ConfigurationError(message: "subscription name \(name) must be lower-case letters, digits and _ (at most 63)")
        }
        self.sourceURL = sourceURL
        self.subscriberURL = subscriberURL
        self.sourceConninfo = sourceConninfo ?? sourceURL
        self.name = name
        self.migrations = migrations
        self.logger = logger
    }

    /// Publication on the source, platform tables and subscription (with an
    /// initial copy) on the subscriber. Returns what it did, step by step.
    public func initialize() async throws -> [String] {
        var steps: [String] = []
        let publicationSQL = try ReplicationSQL.file("publication.sql", in: migrations)
        try await PostgresConnection.withConnection(sourceURL, applicationName: "hacksync-replica", logger: logger) { source in
            let settings = try await source.query("SELECT current_setting('wal_level'), current_setting('max_replication_slots')::int, current_setting('max_wal_senders')::int").rows[0]
            guard settings.string(0) == "logical" else {
                throw ConfigurationError(message: "the source runs with wal_level = \(settings.string(0) ?? "?"); logical replication needs wal_level = logical (set it and restart Postgres)")
            }
            guard (settings.int(1) ?? 0) > 0, (settings.int(2) ?? 0) > 0 else {
                throw ConfigurationError(message: "the source allows no replication slots or WAL senders: raise max_replication_slots and max_wal_senders")
            }
            let existed = try await Self.exists(source, "SELECT 1 FROM pg_publication WHERE pubname = $1", ReplicationSQL.publication)
            try await source.execute(publicationSQL)
            steps.append(existed ? "source: publication \(ReplicationSQL.publication) already exists"
                                 : "source: created publication \(ReplicationSQL.publication)")
        }
        let schemaSQL = try ReplicationSQL.file("V001__platform_schema.sql", in: migrations)
        let subscriptionSQL = try ReplicationSQL.substitute(try ReplicationSQL.file("subscription.sql", in: migrations),
                                                            ["name": name, "conninfo": sourceConninfo])
        try await PostgresConnection.withConnection(subscriberURL, applicationName: "hacksync-replica", logger: logger) { subscriber in
            if try await Self.exists(subscriber, "SELECT 1 WHERE to_regclass('public.users') IS NOT NULL") {
                steps.append("subscriber: the platform tables already exist")
            } else {
                try await subscriber.transaction { try await $0.execute(schemaSQL) }
                steps.append("subscriber: created the platform tables")
            }
            let existing = try await subscriber.query(
                "SELECT subenabled FROM pg_subscription WHERE subname = $1 AND subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())",
                [name]).rows.first
            if let existing {
                if existing.bool(0) == true {
                    steps.append("subscriber: subscription \(name) already exists")
                } else {
                    try await subscriber.execute("ALTER SUBSCRIPTION \(quoteIdentifier(name)) ENABLE")
                    steps.append("subscriber: enabled subscription \(name)")
                }
            } else {
                // Creates the slot on the source and starts the initial copy.
                try await subscriber.execute(subscriptionSQL)
                steps.append("subscriber: created subscription \(name) (slot \(name) on the source; initial copy started)")
            }
        }
        for step in steps { logger.info("replica init", metadata: ["step": "\(step)"]) }
        return steps
    }

    /// Drops the subscription and its slot (and the slots of an unfinished
    /// initial copy). When the source cannot be reached from the subscriber,
    /// the subscription is detached from its slot first and the slot is
    /// dropped from here. The publication stays: other subscribers may use it.
    public func drop() async throws -> [String] {
        var steps: [String] = []
        var subscriptionOID: String?
        try await PostgresConnection.withConnection(subscriberURL, applicationName: "hacksync-replica", logger: logger) { subscriber in
            let row = try await subscriber.query(
                "SELECT oid::text FROM pg_subscription WHERE subname = $1 AND subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())",
                [name]).rows.first
            guard let row else {
                steps.append("subscriber: no subscription \(name)")
                return
            }
            subscriptionOID = row.string(0)
            let quoted = quoteIdentifier(name)
            do {
                try await subscriber.execute("DROP SUBSCRIPTION \(quoted)")
                steps.append("subscriber: dropped subscription \(name) and its slot on the source")
            } catch {
                logger.warning("dropping the subscription with its slot failed; detaching it from the slot", metadata: ["error": "\(error)"])
                try await subscriber.execute("ALTER SUBSCRIPTION \(quoted) DISABLE")
                try await subscriber.execute("ALTER SUBSCRIPTION \(quoted) SET (slot_name = NONE)")
                try await subscriber.execute("DROP SUBSCRIPTION \(quoted)")
                steps.append("subscriber: dropped subscription \(name) (the source was not reachable from the subscriber)")
            }
        }
        try await PostgresConnection.withConnection(sourceURL, applicationName: "hacksync-replica", logger: logger) { source in
            // The subscription's slot, and pg_<oid>_sync_* slots of a copy cut short.
            let pattern = subscriptionOID.map { "pg\\_\($0)\\_sync\\_%" } ?? "-"
            let slots = try await source.query(
                "SELECT slot_name, active FROM pg_replication_slots WHERE database = current_database() AND (slot_name = $1 OR slot_name LIKE $2)",
                [name, pattern]).rows
            for slot in slots {
                let slotName = slot.string(0) ?? ""
                if slot.bool(1) == true {
                    throw ConfigurationError(message: "slot \(slotName) on the source is still in use by a WAL sender; stop that subscriber first")
                }
                try await source.query("SELECT pg_drop_replication_slot($1)", [slotName])
                steps.append("source: dropped slot \(slotName)")
            }
        }
        for step in steps { logger.info("replica drop", metadata: ["step": "\(step)"]) }
        return steps
    }

    static func exists(_ connection: PostgresConnection, _ sql: String, _ parameters: String...) async throws -> Bool {
        try await !connection.query(sql, parameters).rows.isEmpty
    }
}

extension ReplicaSetup {
    /// A subscription as the subscriber sees it.
    public struct Subscription: Encodable, Sendable {
        public var name: String
        public var enabled: Bool
        /// A replication worker is running for it.
        public var workerRunning: Bool
        public var receivedLSN: String?
        public var secondsSinceLastMessage: Double?
        /// Tables of the publication, and how many finished their initial copy.
        public var tables: Int
        public var tablesReady: Int
    }

    /// Every subscription of the subscriber database.
    public static func subscriptions(subscriberURL: String, logger: Logger) async throws -> [Subscription] {
        try await PostgresConnection.withConnection(subscriberURL, applicationName: "hacksync-replica", logger: logger) { subscriber in
            try await subscriber.query("""
                SELECT s.subname, s.subenabled, st.pid IS NOT NULL, st.received_lsn::text,
                       extract(epoch FROM now() - st.last_msg_receipt_time)::float8,
                       (SELECT count(*) FROM pg_subscription_rel r WHERE r.srsubid = s.oid),
                       (SELECT count(*) FROM pg_subscription_rel r WHERE r.srsubid = s.oid AND r.srsubstate = 'r')
                  FROM pg_subscription s
                  LEFT JOIN pg_stat_subscription st ON st.subid = s.oid AND st.relid IS NULL
                 WHERE s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())
                 ORDER BY s.subname
                """).rows.map { row in
                Subscription(name: row.string(0) ?? "", enabled: row.bool(1) ?? false, workerRunning: row.bool(2) ?? false,
                             receivedLSN: row.string(3), secondsSinceLastMessage: row.double(4),
                             tables: row.int(5) ?? 0, tablesReady: row.int(6) ?? 0)
            }
        }
    }
}
