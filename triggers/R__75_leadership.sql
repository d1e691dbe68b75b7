-- Leadership: exactly one session syncs (claims, writes, settles). It holds
-- the leader lock, a session-level advisory lock, so the lock goes with the
-- session: a leader whose process dies (kill -9) loses it as soon as
-- Postgres sees the socket close, and a standby polling sync.try_lead takes
-- over within its poll interval.
--
-- A leader can also stop without its socket closing: the process hangs
-- (SIGSTOP, a stuck host) or the network drops without a reset. Its lock
-- would then be held for as long as TCP keeps the session. So the leader
-- renews a lease every second (sync.renew_lease); a standby that finds the
-- lease older than `lease`, and the holder's session waiting for its client,
-- ends that session (pg_terminate_backend) and takes the lock. A deposed leader cannot settle anything afterwards:
-- sync.settle checks, inside its own transaction, that the calling session
-- holds the lock (sync.assert_leader).

-- The key of the leader lock: the only place it is written down.
CREATE OR REPLACE FUNCTION sync.leader_lock() RETURNS bigint
LANGUAGE sql IMMUTABLE AS 'SELECT 7261002::bigint';

-- Whether session `holder` holds the leader lock. A bigint advisory key
-- k shows in pg_locks as classid = k >> 32, objid = k & 0xffffffff, objsubid 1.
CREATE OR REPLACE FUNCTION sync.holds_leader_lock(holder integer) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (
        SELECT 1 FROM pg_locks
        WHERE locktype = 'advisory' AND granted AND pid = holder
          AND classid = (sync.leader_lock() >> 32)::oid
          AND objid = (sync.leader_lock() & 4294967295)::oid AND objsubid = 1)
$$;

-- Whether the calling session holds the leader lock.
CREATE OR REPLACE FUNCTION sync.is_leader() RETURNS boolean
LANGUAGE sql STABLE AS 'SELECT sync.holds_leader_lock(pg_backend_pid())';

-- Fencing: raises unless the calling session holds the leader lock.
CREATE OR REPLACE FUNCTION sync.assert_leader() RETURNS void
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF NOT sync.is_leader() THEN
        RAISE EXCEPTION 'this session does not hold the leader lock: another instance syncs'
            USING ERRCODE = 'HSL01';
    END IF;
END $$;

-- One attempt to lead. Returns the role this session has afterwards and,
-- when a stalled leader's session was ended, its pid (the lock is free a
-- moment later: the next attempt takes it).
--
-- A stale lease alone does not depose: the leader renews on its sync
-- connection, so a renewal can wait behind a long statement (a claim
-- waiting for the version lock while an index build reads). The holder is
-- ended only if, besides, its session waits for its client: idle, idle in
-- a transaction, or blocked sending to or reading from it. That is what a
-- stopped process or a dead network path looks like from the server; a
-- busy leader runs or waits on a lock inside the server, and is left alone.
CREATE OR REPLACE FUNCTION sync.try_lead(instance text, lease interval)
RETURNS TABLE (leader boolean, epoch bigint, deposed integer)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    current sync.leader;
BEGIN
    IF sync.is_leader() OR pg_try_advisory_lock(sync.leader_lock()) THEN
        INSERT INTO sync.leader AS l (pid, instance, epoch, acquired_at, renewed_at)
        VALUES (pg_backend_pid(), instance, 1, clock_timestamp(), clock_timestamp())
        ON CONFLICT (singleton) DO UPDATE SET
            pid = excluded.pid, instance = excluded.instance,
            epoch = CASE WHEN l.pid = excluded.pid THEN l.epoch ELSE l.epoch + 1 END,
            acquired_at = CASE WHEN l.pid = excluded.pid THEN l.acquired_at ELSE excluded.acquired_at END,
            renewed_at = excluded.renewed_at
        RETURNING true, l.epoch, NULL::integer INTO leader, epoch, deposed;
        RETURN NEXT;
        RETURN;
    END IF;
    -- Locked: a renewal committing meanwhile is seen (the row is read again
    -- after the wait), and none can commit between this check and the end.
    SELECT * INTO current FROM sync.leader FOR UPDATE;
    IF current.renewed_at < clock_timestamp() - lease THEN
        -- Only the session that still holds the lock, never a reused pid.
        IF sync.holds_leader_lock(current.pid)
           AND EXISTS (
            SELECT 1 FROM pg_stat_activity a
            WHERE a.pid = current.pid
              AND (a.state IN ('idle', 'idle in transaction', 'idle in transaction (aborted)')
                   OR a.wait_event_type = 'Client')) THEN
            IF pg_terminate_backend(current.pid) THEN
                RETURN QUERY SELECT false, current.epoch, current.pid;
                RETURN;
            END IF;
        END IF;
    END IF;
    RETURN QUERY SELECT false, current.epoch, NULL::integer;
END $$;

-- The leader says it is alive. False when this session is no longer the
-- leader on record (a standby deposed it): the caller must stop syncing.
CREATE OR REPLACE FUNCTION sync.renew_lease() RETURNS boolean
LANGUAGE sql VOLATILE AS $$
    UPDATE sync.leader SET renewed_at = clock_timestamp()
    WHERE pid = pg_backend_pid() AND sync.is_leader()
    RETURNING true
$$;
