-- Control DB (PostgreSQL): requests, their append-only event history, the suppression list
-- and runs. Same shape as the SQLite schema; timestamps are RFC 3339 text in both.
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

CREATE TABLE request_identities (
    request_id    TEXT NOT NULL REFERENCES requests (id),
    identity_hash TEXT NOT NULL,
    PRIMARY KEY (request_id, identity_hash)
);
CREATE INDEX request_identities_hash ON request_identities (identity_hash);

CREATE TABLE request_events (
    seq        BIGSERIAL PRIMARY KEY,
    request_id TEXT NOT NULL REFERENCES requests (id),
    at         TEXT NOT NULL,
    event      TEXT NOT NULL,
    detail     TEXT NOT NULL DEFAULT '{}'
);
CREATE FUNCTION request_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'request_events is append-only';
END;
$$;
CREATE TRIGGER request_events_append_only BEFORE UPDATE OR DELETE ON request_events
    FOR EACH ROW EXECUTE FUNCTION request_events_append_only();

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
