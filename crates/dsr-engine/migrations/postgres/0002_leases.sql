-- Leases: a worker holds a request under a fencing token until `lease_expires_ms` (Unix ms).
-- `lease` keeps the latest token ever given, so a stalled holder's writes are refused.
-- `not_before_ms`: a request left unfinished waits until then before a worker retries it.
ALTER TABLE requests
    ADD COLUMN lease BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN lease_owner TEXT,
    ADD COLUMN lease_expires_ms BIGINT,
    ADD COLUMN not_before_ms BIGINT;
CREATE SEQUENCE lease_tokens;
