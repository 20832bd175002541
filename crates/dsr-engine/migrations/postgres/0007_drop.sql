-- California's DROP deletion lists, and the tombstones that keep deleted people deleted.

-- One imported DROP download (the ZIP): imported once, keyed by its SHA-256.
CREATE TABLE drop_batches (
    id            TEXT PRIMARY KEY,
    source_sha256 TEXT NOT NULL UNIQUE,
    imported_at   TEXT NOT NULL,
    items         INTEGER NOT NULL,
    removed       INTEGER NOT NULL
);

-- One work item: DROP's id and list, never the hash (an unsalted hash of an email is PI).
-- `code` is the status reported back (2 exempted, 3 deleted, 4 opted out, 5 not found), NULL
-- while the deletion request made for it is open.
CREATE TABLE drop_items (
    work_item    TEXT PRIMARY KEY,
    list         TEXT NOT NULL,
    batch_id     TEXT NOT NULL REFERENCES drop_batches (id),
    code         INTEGER,
    request_id   TEXT,
    withdrawn_at TEXT,
    exported_at  TEXT
);
CREATE INDEX drop_items_batch ON drop_items (batch_id);
CREATE INDEX drop_items_request ON drop_items (request_id);

-- Keyed identity hashes of people deleted (source `deleted`) or matched by DROP (`drop`):
-- the nightly sweep deletes them again wherever they reappear; `dsr suppression check`
-- lets ingestion drop them before loading.
CREATE TABLE tombstones (
    identity_hash TEXT PRIMARY KEY,
    request_id    TEXT NOT NULL,
    source        TEXT NOT NULL,
    at            TEXT NOT NULL
);
CREATE INDEX tombstones_request ON tombstones (request_id);

-- Keyed hashes (store, table, key) of a tombstoned subject's rows left in place on purpose
-- (retained by an exemption, or de-identified): the sweep does not take them for data
-- acquired again.
CREATE TABLE settled_rows (
    row_hash   TEXT PRIMARY KEY,
    request_id TEXT NOT NULL,
    at         TEXT NOT NULL
);
