-- Control DB: requests, their append-only event history, the suppression list and runs.
CREATE TABLE requests (
    id            TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    jurisdiction  TEXT NOT NULL,
    received_at   TEXT NOT NULL,
    due_at        TEXT,
    status        TEXT NOT NULL,
    denial_reason TEXT,
    body          TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX requests_status ON requests (status);

-- Keyed hashes of each request's identities (request limits, suppression matching).
CREATE TABLE request_identities (
    request_id    TEXT NOT NULL REFERENCES requests (id),
    identity_hash TEXT NOT NULL,
    PRIMARY KEY (request_id, identity_hash)
);
CREATE INDEX request_identities_hash ON request_identities (identity_hash);

CREATE TABLE request_events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id TEXT NOT NULL REFERENCES requests (id),
    at         TEXT NOT NULL,
    event      TEXT NOT NULL,
    detail     TEXT NOT NULL DEFAULT '{}'
);
CREATE TRIGGER request_events_append_only_u BEFORE UPDATE ON request_events
BEGIN SELECT RAISE(ABORT, 'request_events is append-only'); END;
CREATE TRIGGER request_events_append_only_d BEFORE DELETE ON request_events
BEGIN SELECT RAISE(ABORT, 'request_events is append-only'); END;

CREATE TABLE suppressions (
    identity_hash TEXT PRIMARY KEY,
    request_id    TEXT NOT NULL,
    at            TEXT NOT NULL
);

CREATE TABLE runs (
    id          TEXT PRIMARY KEY,
    job         TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    summary     TEXT
);
