-- Portal: API tokens (only their SHA-256 is stored), the legal clocks of each request, and
-- on-demand runs started over the API.
CREATE TABLE api_tokens (
    id         TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    scope      TEXT NOT NULL,
    label      TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
-- `due_at` (0001) is the current deadline: `respond_by`, or `extendable_to` once extended.
ALTER TABLE requests ADD COLUMN confirm_by TEXT;
ALTER TABLE requests ADD COLUMN receipt_confirmed_at TEXT;
ALTER TABLE requests ADD COLUMN respond_by TEXT;
ALTER TABLE requests ADD COLUMN extendable_to TEXT;
ALTER TABLE requests ADD COLUMN extended_at TEXT;
ALTER TABLE requests ADD COLUMN client TEXT;
ALTER TABLE requests ADD COLUMN closed_at TEXT;
ALTER TABLE requests ADD COLUMN report TEXT;
CREATE INDEX requests_received ON requests (received_at);

CREATE TABLE portal_runs (
    id          TEXT PRIMARY KEY,
    only_ids    TEXT,
    status      TEXT NOT NULL,
    total       INTEGER NOT NULL DEFAULT 0,
    done        INTEGER NOT NULL DEFAULT 0,
    engine_run  TEXT,
    summary     TEXT,
    error       TEXT,
    created_at  TEXT NOT NULL,
    finished_at TEXT
);
