import Model

/// The capture triggers and cascade functions the declarations imply, one
/// set per table that any document reads (part of `DeclaredSQL`).
///
/// - A document's own table: inserts and deletes per statement (transition
///   tables), updates per row recording only the columns some document
///   reads (`cols`); an id that changes is a delete plus an insert. When
///   another document counts its rows through a foreign key, the key's
///   values before and after go into `old_ref`/`new_ref`.
/// - A join table: both keys (`key1`, `key2`: its two key columns in name
///   order); an update that moves a key is a delete plus an insert.
/// - A detail table (rows only counted or aggregated per document, such as
///   activity_events): one change row per document a statement's rows
///   reference, `key1` the document's id and `key2` which foreign key
///   (1-based, in name order), so a page of 1,000 events by 50 users makes
///   50 rows, and the sync's claim folds every pending change of one
///   document into one read. An update of a key or an aggregated column
///   names the documents before and after.
/// - `sync.affected_by_<table>`: which documents a batch's changes to the
///   table affect: the row's own document, documents that embed the row
///   (when a column they show changed), and documents that list or count
///   rows of a join table.
///
/// The statements are those the hand-written triggers had: what a write
/// costs the platform does not change (`scripts/bench-capture.sh`).
struct DeclaredCapture {
    enum Kind: Equatable {
        case document(Entity)
        case join(key1: String, key2: String)
        case detail(keys: [String])
    }

    struct Table {
        var name: String
        var kind: Kind
        /// Columns whose change rewrites some document, in first-declared order.
        var watched: [String] = []
        /// The foreign key another document counts this table's rows by.
        var countedBy: (column: String, entity: Entity)?
        /// Documents that show columns of this table's rows: (entity, the SQL that finds them from `c`, the columns).
        var embedders: [(entity: Entity, join: String, match: String, columns: [String])] = []
        /// For a detail table: the foreign keys its rows are counted by (`sync.detail_counts`).
        var counted: [String] = []
        /// For a join or detail table: documents that list, count or aggregate its rows, by the key that names them.
        var keyedBy: [(entity: Entity, key: String)] = []

        mutating func keyed(_ entity: Entity, by key: String) {
            if !keyedBy.contains(where: { $0.entity == entity && $0.key == key }) { keyedBy.append((entity, key)) }
        }

        mutating func watch(_ columns: [String]) {
            for column in columns where column != "id" && !watched.contains(column) { watched.append(column) }
        }
    }

    private(set) var tables: [Table] = []

    init(_ declarations: [DocumentDeclaration]) throws {
        for declaration in declarations {
            try add(declaration.table, .document(declaration.entity))
        }
        // Join tables next: a count may read one before the list that links through it is declared.
        for declaration in declarations {
            for field in declaration.fields {
                guard case .many(_, let through, _) = field.source, index(of: through.table) == nil else { continue }
                let keys = [through.from, through.to].sorted()
                try add(through.table, .join(key1: keys[0], key2: keys[1]))
            }
        }
        // Tables read only through counts and aggregates, with the foreign keys they are read by.
        var details: [(table: String, keys: [String])] = []
        for field in declarations.flatMap(\.fields) {
            let table: String, foreignKey: String
            switch field.source {
            case .count(let t, let key), .latest(let t, let key, _): (table, foreignKey) = (t, key)
            default: continue
            }
            guard index(of: table) == nil else { continue }
            if let at = details.firstIndex(where: { $0.table == table }) {
                if !details[at].keys.contains(foreignKey) { details[at].keys.append(foreignKey) }
            } else {
                details.append((table, [foreignKey]))
            }
        }
        for detail in details {
            try add(detail.table, .detail(keys: detail.keys.sorted()))
        }
        for declaration in declarations {
            let entity = declaration.entity
            for field in declaration.fields {
                switch field.source {
                case .column(let column, _):
                    try modify(declaration.table) { $0.watch([column]) }
                case .one(let table, let foreignKey, let inner):
                    try modify(declaration.table) { $0.watch([foreignKey]) }
                    let columns = Self.columns(inner)
                    guard !columns.isEmpty else { continue }
                    try modify(table, "\(entity).\(field.name)") {
                        $0.watch(columns)
                        $0.embedders.append((entity, "JOIN \(declaration.table) x ON x.\(foreignKey) = c.key1", "x.id", columns))
                    }
                case .many(let table, let through, let inner):
                    let keys = [through.from, through.to].sorted()
                    try update(through.table, "\(entity).\(field.name)") { join in
                        guard join.kind == .join(key1: keys[0], key2: keys[1]) else { return false }
                        join.keyedBy.append((entity, through.from == keys[0] ? "key1" : "key2"))
                        return true
                    }
                    let columns = Self.columns(inner)
                    guard !columns.isEmpty else { continue }
                    try modify(table, "\(entity).\(field.name)") {
                        $0.watch(columns)
                        $0.embedders.append((entity, "JOIN \(through.table) j ON j.\(through.to) = c.key1", "j.\(through.from)", columns))
                    }
                case .count(let table, let foreignKey):
                    try update(table, "\(entity).\(field.name)") { counted in
                        switch counted.kind {
                        case .join(let key1, let key2):
                            guard foreignKey == key1 || foreignKey == key2 else { return false }
                            counted.keyedBy.append((entity, foreignKey == key1 ? "key1" : "key2"))
                        case .document:
                            guard counted.countedBy == nil || counted.countedBy?.column == foreignKey else { return false }
                            counted.countedBy = (foreignKey, entity)
                            counted.watch([foreignKey])
                        case .detail:
                            counted.keyed(entity, by: foreignKey)
                            counted.watch([foreignKey])
                            if !counted.counted.contains(foreignKey) { counted.counted.append(foreignKey) }
                        }
                        return true
                    }
                case .latest(let table, let foreignKey, let column):
                    try update(table, "\(entity).\(field.name)") { aggregated in
                        guard case .detail = aggregated.kind else { return false }
                        aggregated.keyed(entity, by: foreignKey)
                        aggregated.watch([foreignKey, column])
                        return true
                    }
                }
            }
        }
    }

    /// The (table, foreign key) pairs whose counts `sync.detail_counts` keeps.
    var detailCounts: [(table: String, foreignKey: String)] {
        tables.flatMap { table in table.counted.map { (table.name, $0) } }
    }

    private static func columns(_ fields: [DocumentDeclaration.Field]) -> [String] {
        fields.compactMap { if case .column(let column, _) = $0.source, column != "id" { column } else { nil } }
    }

    private func index(of table: String) -> Int? {
        tables.firstIndex { $0.name == table }
    }

    private mutating func add(_ table: String, _ kind: Kind) throws {
        guard index(of: table) == nil else { throw DeclaredSQL.Invalid(description: "\(table) is the table of two documents") }
        tables.append(Table(name: table, kind: kind))
    }

    private mutating func modify(_ table: String, _ field: String = "", _ change: (inout Table) -> Void) throws {
        try update(table, field) { change(&$0); return true }
    }

    /// Applies `change` to the capture of `table`; false from it (or a
    /// table no document or join table declares) is a declaration the
    /// capture cannot follow.
    private mutating func update(_ table: String, _ field: String, _ change: (inout Table) -> Bool) throws {
        guard let at = index(of: table), change(&tables[at]) else {
            throw DeclaredSQL.Invalid(description: "\(field): reads \(table) in a way the capture cannot follow (a table must be a document's own, "
                                      + "a join table keyed by the two columns it links, or a table only counted and aggregated; "
                                      + "a document table is counted through one foreign key at most, and not aggregated)")
        }
    }

    // MARK: - SQL

    var sql: String {
        (tables.map(capture) + [affectedDocuments]).joined(separator: "\n\n")
    }

    private static let wake = """
            IF NOT pg_try_advisory_xact_lock_shared(7261004) THEN  -- sync.wake_syncer(), inlined
                PERFORM pg_notify('hacksync', '');
            END IF;
        """

    /// Inserts and deletes, per statement: `onInsert`/`onDelete` (reading
    /// the transition table `new_rows`/`old_rows`), then a wake-up if the
    /// last of them wrote any row.
    private static func statementCapture(_ name: String, onInsert: String, onDelete: String) -> String {
        """
        CREATE OR REPLACE FUNCTION sync.capture_\(name)() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' THEN
        \(onInsert)
            ELSE
        \(onDelete)
            END IF;
            IF FOUND AND NOT pg_try_advisory_xact_lock_shared(7261004) THEN  -- sync.wake_syncer(), inlined
                PERFORM pg_notify('hacksync', '');
            END IF;
            RETURN NULL;
        END $$;
        """
    }

    /// One INSERT … SELECT of a transition table into the log (`columns`:
    /// the log's, `values`: the table's).
    private static func logRows(_ name: String, _ op: String, columns: String, values: String, from rows: String, order: String) -> String {
        """
                INSERT INTO sync.changes (tbl, op, \(columns))
                SELECT '\(name)', '\(op)', \(values) FROM \(rows)\(order);
        """
    }

    private func capture(_ table: Table) -> String {
        let name = table.name
        let statement: String, update: String
        switch table.kind {
        case .document:
            let ref = table.countedBy?.column
            let values = "id" + (ref.map { ", \($0)" } ?? "")
            statement = Self.statementCapture(
                name,
                onInsert: Self.logRows(name, "I", columns: "key1" + (ref == nil ? "" : ", new_ref"), values: values, from: "new_rows", order: " ORDER BY id"),
                onDelete: Self.logRows(name, "D", columns: "key1" + (ref == nil ? "" : ", old_ref"), values: values, from: "old_rows", order: " ORDER BY id"))
            let checks = table.watched.map { column in
                "        IF NEW.\(column) IS DISTINCT FROM OLD.\(column) THEN cols := cols || '\(column)'::text;"
                    + (column == ref ? " old_ref := OLD.\(column); new_ref := NEW.\(column);" : "") + " END IF;"
            }
            let refs = ref == nil ? "" : ", old_ref, new_ref"
            update = """
            -- Only columns some document reads make a change row; an id that
            -- changed is a delete of the old document and an insert of the new one.
            CREATE OR REPLACE FUNCTION sync.capture_\(name)_update() RETURNS trigger
            LANGUAGE plpgsql AS $$
            DECLARE
                cols text[];\(ref == nil ? "" : "\n    old_ref bigint;\n    new_ref bigint;")
            BEGIN
                IF NEW.id <> OLD.id THEN
                    INSERT INTO sync.changes (tbl, op, key1\(refs))
                    VALUES ('\(name)', 'D', OLD.id\(ref.map { ", OLD.\($0), NULL" } ?? "")), ('\(name)', 'I', NEW.id\(ref.map { ", NULL, NEW.\($0)" } ?? ""));
                ELSE
            \(checks.joined(separator: "\n"))
                    IF cols IS NULL THEN
                        RETURN NULL;
                    END IF;
                    INSERT INTO sync.changes (tbl, op, key1\(refs), cols) VALUES ('\(name)', 'U', NEW.id\(refs), cols);
                END IF;
            \(Self.wake)
                RETURN NULL;
            END $$;
            """
        case .join(let key1, let key2):
            statement = Self.statementCapture(
                name,
                onInsert: Self.logRows(name, "I", columns: "key1, key2", values: "\(key1), \(key2)", from: "new_rows", order: ""),
                onDelete: Self.logRows(name, "D", columns: "key1, key2", values: "\(key1), \(key2)", from: "old_rows", order: ""))
            update = """
            -- Only the keys are in documents: an update that moves one is a delete plus an insert.
            CREATE OR REPLACE FUNCTION sync.capture_\(name)_update() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.\(key1) = OLD.\(key1) AND NEW.\(key2) = OLD.\(key2) THEN
                    RETURN NULL;
                END IF;
                INSERT INTO sync.changes (tbl, op, key1, key2)
                VALUES ('\(name)', 'D', OLD.\(key1), OLD.\(key2)), ('\(name)', 'I', NEW.\(key1), NEW.\(key2));
            \(Self.wake)
                RETURN NULL;
            END $$;
            """
        case .detail(let keys):
            let named = { (row: String) in keys.enumerated().map { "(\(row).\($1), \($0 + 1))" } }
            let referenced = { (op: String, rows: String, values: [String]) in """
                    INSERT INTO sync.changes (tbl, op, key1, key2)
                    SELECT DISTINCT '\(name)', '\(op)', k.id, k.n FROM \(rows)(VALUES \(values.joined(separator: ", "))) AS k (id, n)
                    WHERE k.id IS NOT NULL;
            """ }
            // Counts first: FOUND below is the change rows'.
            let count = { (rows: String, sign: String) in table.counted.map { key in """
                    INSERT INTO sync.detail_counts AS d (tbl, fk, id, n)
                    SELECT '\(name)', '\(key)', r.\(key), \(sign)count(*) FROM \(rows) r WHERE r.\(key) IS NOT NULL GROUP BY r.\(key) ORDER BY r.\(key)
                    ON CONFLICT (tbl, fk, id) DO UPDATE SET n = d.n + excluded.n;
            """ }.joined(separator: "\n") }
            statement = Self.statementCapture(
                name,
                onInsert: count("new_rows", "") + "\n" + referenced("I", "new_rows r CROSS JOIN LATERAL ", named("r")),
                onDelete: count("old_rows", "-") + "\n" + referenced("D", "old_rows r CROSS JOIN LATERAL ", named("r")))
            let unchanged = table.watched.map { "NEW.\($0) IS NOT DISTINCT FROM OLD.\($0)" }.joined(separator: " AND ")
            update = """
            -- Only the keys and the aggregated columns are in documents: an
            -- update of one names the documents before and after.
            CREATE OR REPLACE FUNCTION sync.capture_\(name)_update() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                IF \(unchanged) THEN
                    RETURN NULL;
                END IF;
            \(table.counted.map { key in """
                    IF NEW.\(key) IS DISTINCT FROM OLD.\(key) THEN
                        UPDATE sync.detail_counts SET n = n - 1 WHERE tbl = '\(name)' AND fk = '\(key)' AND id = OLD.\(key);
                        INSERT INTO sync.detail_counts AS d (tbl, fk, id, n) SELECT '\(name)', '\(key)', NEW.\(key), 1 WHERE NEW.\(key) IS NOT NULL
                        ON CONFLICT (tbl, fk, id) DO UPDATE SET n = d.n + 1;
                    END IF;
            """ }.joined(separator: "\n"))
            \(referenced("U", "", named("OLD") + named("NEW")))
            \(Self.wake)
                RETURN NULL;
            END $$;
            """
        }
        return """
        -- \(name): capture and cascade.
        \(statement)

        \(update)

        DROP TRIGGER IF EXISTS hacksync_insert ON \(name);
        DROP TRIGGER IF EXISTS hacksync_update ON \(name);
        DROP TRIGGER IF EXISTS hacksync_delete ON \(name);
        CREATE TRIGGER hacksync_insert AFTER INSERT ON \(name) REFERENCING NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION sync.capture_\(name)();
        CREATE TRIGGER hacksync_update AFTER UPDATE ON \(name)
            FOR EACH ROW EXECUTE FUNCTION sync.capture_\(name)_update();
        CREATE TRIGGER hacksync_delete AFTER DELETE ON \(name) REFERENCING OLD TABLE AS old_rows
            FOR EACH STATEMENT EXECUTE FUNCTION sync.capture_\(name)();

        \(affectedBy(table))
        \(recount(table))
        """
    }

    /// A detail table's counts, recounted whenever the generated SQL
    /// changes (it runs in the migration's transaction; writers wait).
    private func recount(_ table: Table) -> String {
        guard !table.counted.isEmpty else { return "" }
        return """
        LOCK TABLE \(table.name) IN SHARE MODE;
        DELETE FROM sync.detail_counts WHERE tbl = '\(table.name)';
        \(table.counted.map { key in
            "INSERT INTO sync.detail_counts (tbl, fk, id, n) SELECT '\(table.name)', '\(key)', \(key), count(*) FROM \(table.name) WHERE \(key) IS NOT NULL GROUP BY \(key);"
        }.joined(separator: "\n"))
        """
    }

    /// `sync.affected_by_<table>(seqs)`. A delete needs no cascade: rows
    /// that reference a deleted one go by their foreign keys (or have them
    /// set to NULL), and those writes are captured themselves.
    private func affectedBy(_ table: Table) -> String {
        let changes = "FROM sync.changes c"
        let mine = "c.seq = ANY (seqs) AND c.tbl = '\(table.name)'"
        var selects: [String] = []
        if case .document(let entity) = table.kind {
            selects.append("SELECT '\(entity.rawValue)', c.key1\n    \(changes) WHERE \(mine)")
        }
        if let (_, entity) = table.countedBy {
            selects.append("SELECT '\(entity.rawValue)', r.id\n    \(changes) CROSS JOIN LATERAL unnest(ARRAY[c.old_ref, c.new_ref]) AS r (id)\n    WHERE \(mine) AND r.id IS NOT NULL")
        }
        for embedder in table.embedders {
            selects.append("SELECT '\(embedder.entity.rawValue)', \(embedder.match)\n    \(changes) \(embedder.join)\n    WHERE \(mine) AND c.op = 'U' AND c.cols && '{\(embedder.columns.sorted().joined(separator: ","))}'")
        }
        for keyed in table.keyedBy {
            if case .detail(let keys) = table.kind, let position = keys.firstIndex(of: keyed.key) {
                selects.append("SELECT '\(keyed.entity.rawValue)', c.key1\n    \(changes) WHERE \(mine) AND c.key2 = \(position + 1)")
            } else {
                selects.append("SELECT '\(keyed.entity.rawValue)', c.\(keyed.key)\n    \(changes) WHERE \(mine)")
            }
        }
        return """
        CREATE OR REPLACE FUNCTION sync.affected_by_\(table.name)(seqs bigint[]) RETURNS TABLE (entity text, id bigint)
        LANGUAGE plpgsql STABLE AS $$
        #variable_conflict use_column
        BEGIN
            RETURN QUERY
            \(selects.joined(separator: "\n    UNION\n    "));
        END $$;
        """
    }

    /// `sync.affected_documents(seqs)`: every document a batch of changes
    /// affects, cascades included, plus those named by re-sync requests
    /// (tbl = 'refresh').
    private var affectedDocuments: String {
        let parts = tables.map { "SELECT * FROM sync.affected_by_\($0.name)(seqs)" }
            + ["SELECT c.doc_entity, c.key1 FROM sync.changes c WHERE c.seq = ANY (seqs) AND c.tbl = 'refresh'"]
        return """
        CREATE OR REPLACE FUNCTION sync.affected_documents(seqs bigint[]) RETURNS TABLE (entity text, id bigint)
        LANGUAGE plpgsql STABLE AS $$
        #variable_conflict use_column
        BEGIN
            RETURN QUERY
            \(parts.joined(separator: "\n    UNION "));
        END $$;
        """
    }
}
