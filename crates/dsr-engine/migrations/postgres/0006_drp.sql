-- Data Rights Protocol (DRP v1.0): authorized agents' bearer tokens, the DRP side of each
-- request an agent sent, the signatures already seen (replay refusal) and the status
-- callbacks owed to agents. No subject data: ids, statuses, times, hashes and the agent's
-- own callback URL.

-- Pairwise setup tokens (`POST /v1/agent/{agent-id}`): only the SHA-256 is stored; a new
-- setup revokes the agent's earlier tokens.
CREATE TABLE drp_agent_tokens (
    token_hash TEXT PRIMARY KEY,
    agent      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX drp_agent_tokens_agent ON drp_agent_tokens (agent);

-- One row per DRP request we answered. `id` is the DRP `request_id` and, when `submitted`,
-- also the id of the request in `requests` (its status is read from there); otherwise the
-- request was answered at intake (`status` denied with `reason`) and never entered the
-- pipeline. `notified` is the last status state queued for the agent's callback;
-- `final_notified` stops the watch once a final state was queued.
CREATE TABLE drp_requests (
    id               TEXT PRIMARY KEY,
    agent            TEXT NOT NULL,
    agent_request_id TEXT,
    exercise         TEXT NOT NULL,
    regime           TEXT,
    submitted        BIGINT NOT NULL,
    status           TEXT NOT NULL,
    reason           TEXT,
    status_callback  TEXT,
    received_at      TEXT NOT NULL,
    notified         TEXT NOT NULL DEFAULT '',
    final_notified   BIGINT NOT NULL DEFAULT 0,
    created_at       TEXT NOT NULL,
    UNIQUE (agent, agent_request_id)
);
CREATE INDEX drp_requests_watch ON drp_requests (final_notified);

-- Signatures of accepted signed messages (SHA-256 of the 64-byte signature), kept until the
-- message's `expires-at`: the same signed message is refused while it could still be valid.
CREATE TABLE drp_seen (
    signature_hash TEXT PRIMARY KEY,
    agent          TEXT NOT NULL,
    expires_ms     BIGINT NOT NULL
);
CREATE INDEX drp_seen_expiry ON drp_seen (expires_ms);

-- Status callbacks owed to agents: `pending` until delivered (2xx), retried with backoff
-- (`next_ms`), `failed` after the last attempt, `superseded` when a newer status of the same
-- request was queued first.
CREATE TABLE drp_callbacks (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    drp_id       TEXT NOT NULL,
    url          TEXT NOT NULL,
    payload      TEXT NOT NULL,
    state        TEXT NOT NULL,
    attempts     BIGINT NOT NULL DEFAULT 0,
    next_ms      BIGINT NOT NULL,
    last_error   TEXT,
    created_at   TEXT NOT NULL,
    delivered_at TEXT
);
CREATE INDEX drp_callbacks_due ON drp_callbacks (state, next_ms);
