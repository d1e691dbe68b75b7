-- The leader's lease: which session syncs, since when, and when it last
-- said it was alive. The leader lock (a session advisory lock) decides who
-- leads; the lease lets a standby tell a leader that stopped (a hung
-- process, a connection that hangs without closing) from one that is busy,
-- and end its session so that the lock is free again (R__75_leadership.sql).
CREATE TABLE sync.leader (
    singleton    boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    pid          integer NOT NULL,
    instance     text NOT NULL,
    -- Grows by one with every new leader: who led when, in the logs.
    epoch        bigint NOT NULL,
    acquired_at  timestamptz NOT NULL,
    renewed_at   timestamptz NOT NULL
);
