-- `dsr schedule`: job locks, the record of scheduled fires, and the retention purge.
--
-- job_locks: one row per job while (or since) a scheduler ran it. A lock is taken only when
-- absent or expired (`expires_ms`, Unix ms of the taker's clock), so a crashed holder's lock
-- frees itself; the holder renews it while the job runs and deletes it at the end.
CREATE TABLE job_locks (
    job        TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_ms INTEGER NOT NULL
);

-- job_fires: one row per scheduled fire time of a job that was run (outcome running, ok,
-- failed), plus an `armed` row when a scheduler first saw the job (its baseline: nothing
-- before it is run). The latest `scheduled_ms` of a job is its last fire time. `detail` holds
-- counts only, never subject data.
CREATE TABLE job_fires (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    job          TEXT NOT NULL,
    scheduled_ms INTEGER NOT NULL,
    scheduled_at TEXT NOT NULL,
    holder       TEXT NOT NULL,
    started_at   TEXT,
    finished_at  TEXT,
    outcome      TEXT NOT NULL,
    detail       TEXT NOT NULL DEFAULT '{}',
    UNIQUE (job, scheduled_ms)
);

-- Retention: the purge marks a request `purged_at` before deleting it with its events and
-- identity hashes, all in one transaction.
ALTER TABLE requests ADD COLUMN purged_at TEXT;

-- request_events stays append-only: UPDATE is always refused; DELETE only of the events of a
-- request marked purged, in a final status, whose last change is more than 24 months old
-- (11 CCR §7101) by the database's own clock.
DROP TRIGGER request_events_append_only_d;
CREATE TRIGGER request_events_append_only_d BEFORE DELETE ON request_events
WHEN NOT EXISTS (
    SELECT 1 FROM requests r
     WHERE r.id = OLD.request_id
       AND r.purged_at IS NOT NULL
       AND r.status IN ('fulfilled', 'partially_fulfilled', 'denied', 'expired')
       AND julianday(r.updated_at) < julianday('now', '-24 months')
)
BEGIN SELECT RAISE(ABORT, 'request_events is append-only'); END;
