-- Leases: a worker holds a request under a fencing token until `lease_expires_ms` (Unix ms).
-- `lease` keeps the latest token ever given, so a stalled holder's writes are refused.
-- `not_before_ms`: a request left unfinished waits until then before a worker retries it.
ALTER TABLE requests ADD COLUMN lease INTEGER NOT NULL DEFAULT 0;
ALTER TABLE requests ADD COLUMN lease_owner TEXT;
ALTER TABLE requests ADD COLUMN lease_expires_ms INTEGER;
ALTER TABLE requests ADD COLUMN not_before_ms INTEGER;
CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO counters (name, value) VALUES ('lease', 0);
