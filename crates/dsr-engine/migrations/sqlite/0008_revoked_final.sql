-- `revoked` (an agent's DELETE, a DROP withdrawal) is a final status: its records are purged
-- after the retention period like the others.
DROP TRIGGER request_events_append_only_d;
CREATE TRIGGER request_events_append_only_d BEFORE DELETE ON request_events
WHEN NOT EXISTS (
    SELECT 1 FROM requests r
     WHERE r.id = OLD.request_id
       AND r.purged_at IS NOT NULL
       AND r.status IN ('fulfilled', 'partially_fulfilled', 'denied', 'expired', 'revoked')
       AND julianday(r.updated_at) < julianday('now', '-24 months')
)
BEGIN SELECT RAISE(ABORT, 'request_events is append-only'); END;
