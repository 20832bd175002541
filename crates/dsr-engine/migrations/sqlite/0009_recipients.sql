-- Who received each subject's personal information (keyed identity hashes, never values),
-- fed by `dsr ledger import` from the sale/share export logs, and the notifications of
-- deletions and opt-outs sent to them (11 CCR §7022(b), §7026(f)).
CREATE TABLE recipient_ledger (
    identity_hash TEXT NOT NULL,
    recipient     TEXT NOT NULL,
    categories    TEXT NOT NULL,
    first_at      TEXT NOT NULL,
    last_at       TEXT NOT NULL,
    PRIMARY KEY (identity_hash, recipient)
);
CREATE INDEX recipient_ledger_hash ON recipient_ledger (identity_hash);

-- One notification per request and recipient: `delivered`, `failed` (retries exhausted) or
-- `manual` (to be told by hand).
CREATE TABLE recipient_notifications (
    request_id  TEXT NOT NULL,
    recipient   TEXT NOT NULL,
    event       TEXT NOT NULL,
    categories  TEXT NOT NULL,
    channel     TEXT NOT NULL,
    status      TEXT NOT NULL,
    attempts    INTEGER NOT NULL,
    http_status INTEGER,
    at          TEXT NOT NULL,
    PRIMARY KEY (request_id, recipient)
);
