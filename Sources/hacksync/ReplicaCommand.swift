import ArgumentParser
import Foundation
import Logging
import Model
import Postgres
import Server

/// `hacksync replica init | status | drop`: logical replication of the
/// platform tables into a subscriber database.
struct ReplicaCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replica",
        abstract: "Mirror the platform tables into a subscriber database with Postgres logical replication.",
        subcommands: [Init.self, Status.self, Drop.self])

    struct Target: ParsableArguments {
        @Option(help: "The subscriber database. Default: $SUBSCRIBER_URL.")
        var subscriberURL: String?

        @Option(help: "Subscription (and slot) name.")
        var name = ReplicationSQL.defaultSubscription

        /// The subscriber, if one was given.
        var givenSubscriberURL: String? {
            (subscriberURL ?? ProcessInfo.processInfo.environment["SUBSCRIBER_URL"]).flatMap { $0.isEmpty ? nil : $0 }
        }

        /// Init and drop: the source, the subscriber and the SQL files.
        func setup(_ common: CommonOptions, sourceConninfo: String? = nil, migrations: String?, logger: Logger) throws -> ReplicaSetup {
            guard let subscriber = givenSubscriberURL else {
                throw ValidationError("no subscriber: pass --subscriber-url or set SUBSCRIBER_URL")
            }
            return try ReplicaSetup(sourceURL: try common.resolvedDatabaseURL(), subscriberURL: subscriber, sourceConninfo: sourceConninfo,
                                    name: name, migrations: try locateMigrations(explicit: migrations), logger: logger)
        }
    }

    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create the publication, the subscriber's tables and the subscription (with an initial copy); idempotent.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: Target
        @Option(help: "How the subscriber reaches the source, if not by --database-url (other host names, a replication user).")
        var sourceConninfo: String?
        @Option(help: "The triggers/ folder. Default: $HACKSYNC_MIGRATIONS, ./triggers, or the one beside the binary.")
        var migrations: String?

        func run() async throws {
            let logger = try common.makeLogger("hacksync.replica", secrets: [databasePassword(sourceConninfo)])
            let setup = try target.setup(common, sourceConninfo: sourceConninfo, migrations: migrations, logger: logger)
            for step in try await setup.initialize() { print(step) }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Slots on the source (lag in bytes and seconds, retained WAL, stalls) and, with a subscriber, its subscriptions.")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: Target
        @Flag(help: "Print JSON.") var json = false

        struct Report: Encodable {
            var slots: [ReplicationMonitor.Slot]
            var subscriptions: [ReplicaSetup.Subscription]?
        }

        func run() async throws {
            let logger = try common.makeLogger("hacksync.replica")
            // One look, no history: a slot with WAL waiting and no subscriber counts as stalled at once.
            let monitor = ReplicationMonitor(stallAfter: .zero)
            let slots = try await PostgresConnection.withConnection(try common.resolvedDatabaseURL(), applicationName: "hacksync-replica", logger: logger) {
                try await monitor.slots($0)
            }
            var report = Report(slots: slots)
            if let subscriber = target.givenSubscriberURL {
                report.subscriptions = try await ReplicaSetup.subscriptions(subscriberURL: subscriber, logger: logger)
            }
            if json { return try printJSON(report) }  // as /api/status
            if slots.isEmpty {
                print("source: no logical replication slots")
            } else {
                print(Table(["SLOT", "ACTIVE", "STATE", "LAG BYTES", "LAG S", "RETAINED WAL", "HEALTH"], slots.map {
                    [$0.slot, $0.active ? "yes" : "no", $0.state ?? "—", "\($0.lagBytes)", String(format: "%.1f", $0.lagSeconds),
                     "\($0.retainedBytes >> 10) KiB", $0.problems.isEmpty ? "ok" : $0.problems.joined(separator: "; ")]
                }).rendered)
            }
            if let subscriptions = report.subscriptions {
                print(subscriptions.isEmpty ? "subscriber: no subscriptions" : Table(
                    ["SUBSCRIPTION", "ENABLED", "WORKER", "RECEIVED LSN", "LAST MESSAGE", "INITIAL COPY"], subscriptions.map {
                        [$0.name, $0.enabled ? "yes" : "no", $0.workerRunning ? "running" : "stopped", $0.receivedLSN ?? "—",
                         $0.secondsSinceLastMessage.map { String(format: "%.1f s ago", $0) } ?? "—", "\($0.tablesReady)/\($0.tables) tables ready"]
                    }).rendered)
            }
        }
    }

    struct Drop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Drop the subscription and its replication slot (the publication stays for other subscribers).")
        @OptionGroup var common: CommonOptions
        @OptionGroup var target: Target
        @Option(help: "The triggers/ folder.") var migrations: String?

        func run() async throws {
            let logger = try common.makeLogger("hacksync.replica")
            for step in try await target.setup(common, migrations: migrations, logger: logger).drop() { print(step) }
        }
    }
}
