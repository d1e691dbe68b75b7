-- Shared pieces of the capture triggers: the wake-up protocol.
--
-- NOTIFY is expensive on the platform's write path: Postgres serializes the
-- commits of every transaction that issued one (a database-wide lock held
-- through the WAL flush), which caps the whole database's commit rate. It is
-- only a wake-up (the change log is the truth and the syncer scans it), so a
-- capture sends one only when the syncer is actually asleep waiting for it:
--
--  * The syncer, having found nothing to claim, takes advisory lock 7261004
--    exclusively (sync.arm_wakeup, a try: it never waits) and then looks
--    once more for pending changes. Finding none, it sleeps until notified
--    (or until its catch-up interval). Woken, it releases the lock
--    (sync.disarm_wakeup, in the same round trip as its next claim) before
--    it reads anything, so writes made while it is busy do not NOTIFY.
--  * A capture takes the same lock shared for the rest of its transaction
--    (a try, it never waits). The try fails only while the syncer holds the
--    lock, that is, while it sleeps or is about to: then, and only then,
--    the transaction NOTIFYs.
--
-- Why no change can wait for the catch-up interval: a transaction whose try
-- succeeded holds the shared lock until it commits or aborts, so the
-- syncer's try fails until then (it looks again a few milliseconds later
-- instead of sleeping); once the syncer does get the lock, that transaction
-- has ended, and the look that follows the lock sees its rows. A transaction
-- whose try failed NOTIFYs at commit, and the syncer arms only while its
-- listener is connected. With no HackSync connected nobody holds the lock
-- and no write NOTIFYs at all; the syncer's first scan after it starts
-- catches up.
--
-- Lock keys of HackSync: 7261001 version order, 7261002 leader,
-- 7261003 migrations, 7261004 wake-up.

-- The capture's side. The capture functions inline these three lines rather
-- than call this function: a nested PL/pgSQL call costs a single-row write
-- more than the check itself. The payload is empty: the listener reads the
-- rows themselves, and Postgres folds identical notifications of one
-- transaction into one.
CREATE OR REPLACE FUNCTION sync.wake_syncer() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT pg_try_advisory_xact_lock_shared(7261004) THEN
        PERFORM pg_notify('hacksync', '');
    END IF;
END $$;

-- The syncer's side. 'armed': the lock is held and nothing is pending, sleep
-- until notified. 'pending': changes became visible, claim them (the lock is
-- not kept). 'writers': a capturing transaction is still open; look again soon.
-- VOLATILE: the EXISTS takes its snapshot after the lock is held.
CREATE OR REPLACE FUNCTION sync.arm_wakeup() RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF NOT pg_try_advisory_lock(7261004) THEN
        RETURN 'writers';
    END IF;
    IF EXISTS (SELECT 1 FROM sync.changes WHERE processed_at IS NULL) THEN
        PERFORM pg_advisory_unlock(7261004);
        RETURN 'pending';
    END IF;
    RETURN 'armed';
END $$;

CREATE OR REPLACE FUNCTION sync.disarm_wakeup() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_unlock(7261004);
END $$;
