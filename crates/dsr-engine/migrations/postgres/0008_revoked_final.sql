-- `revoked` (an agent's DELETE, a DROP withdrawal) is a final status: its records are purged
-- after the retention period like the others.
CREATE OR REPLACE FUNCTION request_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND EXISTS (
        SELECT 1 FROM requests r
         WHERE r.id = OLD.request_id
           AND r.purged_at IS NOT NULL
           AND r.status IN ('fulfilled', 'partially_fulfilled', 'denied', 'expired', 'revoked')
           AND r.updated_at::timestamptz < now() - interval '24 months'
    ) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'request_events is append-only';
END;
$$;
