import Foundation
import Logging
import Postgres

/// Millions of rows for scale tests, generated inside Postgres with
/// set-based `INSERT … SELECT generate_series` in chunks (no row crosses the
/// wire), on two connections at once. Deterministic for a given seed: every
/// value, and every id a row refers to, is computed from
/// `hashint8extended(row number, seed)`.
///
/// Capture is off for the seeding session (`session_replication_role =
/// replica`: neither the capture triggers nor the foreign-key checks fire;
/// the data is consistent by construction). Capturing would put one
/// change-log row per seeded row on the live path, and the sync would then
/// rebuild every document one batch at a time, while a reindex reads the
/// tables in id order and writes pages; so the seeded documents reach the
/// index by `hacksync reindex` afterwards. Needs a superuser (setting the
/// replication role is reserved to one); the demo seeder (`DemoSeeder`)
/// goes through the triggers instead.
public struct BulkSeeder: Sendable {
    public var users = 1_000_000
    public var hackathons = 2_000
    public var projects = 2_000_000
    /// Members per project: 1 to this many (the creator first).
    public var maxTeam = 4
    public var seed: UInt64 = 42
    /// Rows per statement (one transaction each).
    public var chunk = 100_000

    public init() {}

    public struct Progress: Sendable {
        public var table: String
        public var done: Int
        public var total: Int
        /// Since this table's first chunk.
        public var elapsed: Duration
    }

    public struct Counts: Sendable, CustomStringConvertible {
        public var users = 0, hackathons = 0, participants = 0, projects = 0, members = 0
        public var seconds = 0.0
        public var rows: Int { users + hackathons + participants + projects + members }
        public var description: String {
            "\(users) users, \(hackathons) hackathons, \(participants) participations, \(projects) projects, \(members) memberships: "
                + "\(rows) rows in \(String(format: "%.1f", seconds)) s (\(Int(Double(rows) / max(seconds, 0.001))) rows/s)"
        }
    }

    /// Seeds on two connections at once (the tables do not read each
    /// other: every id is computed, so users, projects and memberships can
    /// be written side by side): one writes users, participations and
    /// projects, the other hackathons and memberships.
    public func run(_ connector: PostgresConnector, logger: Logger, progress: @escaping @Sendable (Progress) -> Void = { _ in }) async throws -> Counts {
        let clock = ContinuousClock()
        let start = clock.now
        // The seeded ids follow the highest existing ones; the identity
        // sequences move past them first, so rows the platform inserts
        // meanwhile take ids after the seeded range.
        let base = try await connector.withConnection(applicationName: "hacksync-seed", queryTimeout: nil) { db in
            try await db.query("""
                WITH base AS (SELECT (SELECT coalesce(max(id), 0) FROM users) AS u, (SELECT coalesce(max(id), 0) FROM hackathons) AS h,
                                     (SELECT coalesce(max(id), 0) FROM projects) AS p)
                SELECT u, h, p,
                       setval(pg_get_serial_sequence('users', 'id'), u + $1 + 1, false),
                       setval(pg_get_serial_sequence('hackathons', 'id'), h + $2 + 1, false),
                       setval(pg_get_serial_sequence('projects', 'id'), p + $3 + 1, false)
                FROM base
                """, [Int64(self.users), Int64(self.hackathons), Int64(self.projects)]).rows[0]
        }
        let (userBase, hackathonBase, projectBase) = (base.int64(0) ?? 0, base.int64(1) ?? 0, base.int64(2) ?? 0)
        let seed = Int64(bitPattern: self.seed)
        let (users, hackathons, projects, chunk) = (self.users, self.hackathons, self.projects, self.chunk)
        // Members k = 0..<team sit `stride` users apart: distinct within a team.
        let team = max(1, min(maxTeam, users))
        let memberStride = max(1, users / team)

        /// Inserts rows 1...total of one table, `chunk` per statement.
        @Sendable func fill(_ db: PostgresConnection, _ table: String, _ total: Int, _ statement: String,
                            _ extra: [(any PostgresEncodable)?]) async throws -> Int {
            var inserted = 0
            let tableStart = clock.now
            for first in stride(from: 1, through: total, by: chunk) {
                let last = min(total, first + chunk - 1)
                inserted += try await db.query(statement, [Int64(first), Int64(last), seed] + extra).affectedRows
                progress(Progress(table: table, done: last, total: total, elapsed: clock.now - tableStart))
            }
            let seconds = (clock.now - tableStart) / .seconds(1)
            logger.info("seeded a table", metadata: [
                "table": "\(table)", "rows": "\(inserted)", "seconds": "\(seconds)",
                "rows_per_second": "\(Int(Double(inserted) / max(seconds, 0.001)))",
            ])
            return inserted
        }
        @Sendable func lane<T: Sendable>(_ body: @Sendable (PostgresConnection) async throws -> T) async throws -> T {
            try await connector.withConnection(applicationName: "hacksync-seed", queryTimeout: nil) { db in
                do {
                    try await db.execute("SET session_replication_role = replica")
                } catch {
                    throw OperationError.invalid("bulk seeding turns capture off for its session (session_replication_role = replica), "
                        + "which needs a superuser: seed as one, or without --bulk (through the triggers): \(error)")
                }
                return try await body(db)
            }
        }
        // pick(array, bits) = array[1 + ((h >> bits) & 65535) % cardinality(array)], h = hashint8extended(g, seed).
        async let first = lane { db -> (users: Int, participants: Int, projects: Int) in
            let users = try await fill(db, "users", users, Self.usersSQL,
                                       [userBase, Words.firstNames, Words.lastNames, Words.bios, Words.skills, Words.colleges])
            // Every user takes part in one hackathon.
            let participants = hackathons == 0 ? 0 : try await fill(db, "hackathon_participants", users, Self.participantsSQL,
                                                                    [userBase, hackathonBase, Int64(hackathons)])
            let projects = hackathons == 0 || users == 0 ? 0 : try await fill(db, "projects", projects, Self.projectsSQL,
                [projectBase, hackathonBase, userBase, Int64(hackathons), Int64(users),
                 Words.projectAdjectives, Words.projectNouns, Words.pitches, Words.skills])
            return (users, participants, projects)
        }
        async let second = lane { db -> (hackathons: Int, members: Int) in
            let hackathons = try await fill(db, "hackathons", hackathons, Self.hackathonsSQL,
                                            [hackathonBase, Words.hackathonPrefixes, Words.cities, Words.tracks])
            // A team of 1 to `team`: the creator (as the projects statement picks it), then users `memberStride` apart.
            let members = hackathons == 0 || users == 0 ? 0 : try await fill(db, "project_members", projects, Self.membersSQL,
                [projectBase, userBase, Int64(users), Int64(team), Int64(memberStride)])
            return (hackathons, members)
        }
        let a: (users: Int, participants: Int, projects: Int), b: (hackathons: Int, members: Int)
        do {
            (a, b) = try await (first, second)
        } catch {
            throw OperationError.jobInterrupted("the bulk seed stopped part-way (\(error)); with capture and foreign keys off, the rows it "
                + "wrote may refer to rows it did not: delete users above id \(userBase), hackathons above \(hackathonBase) and "
                + "projects above \(projectBase) (their memberships and participations go with them), or seed a fresh database")
        }
        var counts = Counts(users: a.users, hackathons: b.hackathons, participants: a.participants, projects: a.projects, members: b.members)
        counts.seconds = (clock.now - start) / .seconds(1)
        return counts
    }

    static let usersSQL = """
        INSERT INTO users (id, username, email, name, bio, skills, college)
        SELECT $4::bigint + g, lower(f) || '.' || lower(l) || ($4::bigint + g), lower(f) || '.' || lower(l) || ($4::bigint + g) || '@example.org',
               f || ' ' || l, ($7::text[])[1 + ((h >> 32) & 65535) % cardinality($7::text[])],
               ($8::text[])[1 + ((h >> 40) & 65535) % cardinality($8::text[]) : 1 + ((h >> 40) & 65535) % cardinality($8::text[]) + ((h >> 56) & 3)],
               ($9::text[])[1 + ((h >> 48) & 65535) % cardinality($9::text[])]
        FROM generate_series($1::bigint, $2::bigint) g,
             LATERAL (SELECT hashint8extended(g, $3) AS h) r,
             LATERAL (SELECT ($5::text[])[1 + (h & 65535) % cardinality($5::text[])] AS f,
                             ($6::text[])[1 + ((h >> 16) & 65535) % cardinality($6::text[])] AS l) n
        """

    static let hackathonsSQL = """
        INSERT INTO hackathons (id, name, starts_at, ends_at, location, tracks)
        SELECT $4::bigint + g, ($5::text[])[1 + ((h >> 16) & 65535) % cardinality($5::text[])] || ' ' || c || ' ' || (2025 + g % 3),
               s, s + interval '2 days 9 hours', c,
               ($7::text[])[1 + ((h >> 32) & 65535) % cardinality($7::text[]) : 3 + ((h >> 32) & 65535) % cardinality($7::text[])]
        FROM generate_series($1::bigint, $2::bigint) g,
             LATERAL (SELECT hashint8extended(g, $3) AS h) r,
             LATERAL (SELECT ($6::text[])[1 + (h & 65535) % cardinality($6::text[])] AS c,
                             timestamptz '2025-01-01 09:00Z' + ((h >> 48) & 1023) * interval '1 day' AS s) x
        """

    static let participantsSQL = """
        INSERT INTO hackathon_participants (hackathon_id, user_id)
        SELECT $5::bigint + 1 + (hashint8extended(g, $3) & 2147483647) % $6::bigint, $4::bigint + g
        FROM generate_series($1::bigint, $2::bigint) g
        """

    static let projectsSQL = """
        INSERT INTO projects (id, hackathon_id, created_by, name, description, repo_url)
        SELECT $4::bigint + g, $5::bigint + 1 + (h & 2147483647) % $7::bigint, $6::bigint + 1 + ((h >> 31) & 2147483647) % $8::bigint, n,
               ($11::text[])[1 + ((h >> 40) & 65535) % cardinality($11::text[])] || ' Built with '
                   || ($12::text[])[1 + ((h >> 48) & 65535) % cardinality($12::text[])] || '.',
               'https://git.example.org/team' || ($4::bigint + g) || '/' || replace(lower(n), ' ', '-')
        FROM generate_series($1::bigint, $2::bigint) g,
             LATERAL (SELECT hashint8extended(g, $3) AS h) r,
             LATERAL (SELECT ($9::text[])[1 + ((h >> 8) & 255) % cardinality($9::text[])] || ' '
                             || ($10::text[])[1 + ((h >> 16) & 255) % cardinality($10::text[])] AS n) x
        """

    /// The creator is computed as in `projectsSQL` (same hash of g), so no row is read.
    static let membersSQL = """
        INSERT INTO project_members (project_id, user_id)
        SELECT $4::bigint + g, $5::bigint + 1 + (((h >> 31) & 2147483647) % $6::bigint + k * $8::bigint) % $6::bigint
        FROM generate_series($1::bigint, $2::bigint) g,
             LATERAL (SELECT hashint8extended(g, $3) AS h) r,
             LATERAL generate_series(0, ((h >> 56) & 255) % $7::bigint) k
        """

    /// Identity sequences past every id (the seed moved them already; rows
    /// inserted meanwhile may be higher); then VACUUM, which sets the
    /// visibility map (the document builders count participants and
    /// projects with index-only scans: on freshly loaded tables each entry
    /// is a heap visit too), and fresh planner statistics.
    public static func settle(_ db: PostgresConnection) async throws {
        for table in ["users", "hackathons", "projects"] {
            try await db.query("SELECT setval(pg_get_serial_sequence($1, 'id'), (SELECT max(id) FROM \(quoteIdentifier(table))))", [table])
        }
        try await db.execute("VACUUM (ANALYZE) users, hackathons, hackathon_participants, projects, project_members")
    }
}
