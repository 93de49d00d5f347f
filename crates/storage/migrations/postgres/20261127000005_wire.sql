-- The wire: subscribers with API keys, usage and rate limits, and webhooks fed
-- from a durable outbox derived from the change log (story_changes).
-- Times are unix seconds, UTC.

CREATE TABLE subscribers (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    -- comma-separated section paths the subscriber may see (with their subsections); empty: all
    sections TEXT NOT NULL DEFAULT '',
    -- comma-separated edition languages; empty: all
    editions TEXT NOT NULL DEFAULT '',
    -- requests per minute and key
    rate_limit BIGINT NOT NULL,
    active BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL
);

CREATE TABLE api_keys (
    id BIGSERIAL PRIMARY KEY,
    subscriber_id BIGINT NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    -- hex SHA-256 of the whole key; the key itself is never stored
    key_hash TEXT NOT NULL UNIQUE,
    -- the first characters of the key, to recognise it in lists
    prefix TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX api_keys_subscriber ON api_keys (subscriber_id);

-- Requests per key and hour.
CREATE TABLE api_usage (
    key_id BIGINT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    hour BIGINT NOT NULL,
    requests BIGINT NOT NULL,
    PRIMARY KEY (key_id, hour)
);

-- Requests per key in the current minute (rate limit shared by all nodes).
CREATE TABLE api_rate (
    key_id BIGINT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    minute BIGINT NOT NULL,
    requests BIGINT NOT NULL,
    PRIMARY KEY (key_id, minute)
);

CREATE TABLE webhooks (
    id BIGSERIAL PRIMARY KEY,
    subscriber_id BIGINT NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    -- HMAC-SHA256 signing secret (needed in clear to sign)
    secret TEXT NOT NULL,
    active BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL
);
CREATE INDEX webhooks_subscriber ON webhooks (subscriber_id);

-- Named positions and values of the wire's background work (the change-log cursor).
CREATE TABLE wire_state (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
-- Webhooks announce what changes from now on: the dispatcher starts at the end of the change log.
INSERT INTO wire_state (name, value) SELECT 'webhook_cursor', COALESCE(MAX(id), 0) FROM story_changes;

-- What the wire last announced for each story, to name the next event.
CREATE TABLE wire_sent (
    news_id BIGINT PRIMARY KEY,
    status TEXT NOT NULL,
    version BIGINT NOT NULL,
    updated_at BIGINT
);

-- One row per event: the payload is fixed when the event is made, so every retry sends the same bytes.
CREATE TABLE wire_events (
    id BIGSERIAL PRIMARY KEY,
    -- public idempotency key
    event_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    news_id BIGINT NOT NULL,
    version BIGINT NOT NULL,
    payload TEXT NOT NULL,
    occurred_at BIGINT NOT NULL
);
CREATE INDEX wire_events_story ON wire_events (news_id, id);

-- Durable outbox: one row per event and webhook, delivered in id order per (webhook, story).
CREATE TABLE webhook_outbox (
    id BIGSERIAL PRIMARY KEY,
    webhook_id BIGINT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_row BIGINT NOT NULL REFERENCES wire_events (id),
    news_id BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    delivered_at BIGINT,
    last_status BIGINT,
    last_error TEXT
);
CREATE INDEX webhook_outbox_pending ON webhook_outbox (delivered_at, next_attempt_at, id);
CREATE INDEX webhook_outbox_story ON webhook_outbox (webhook_id, news_id, id);

-- Every delivery attempt, for the back office.
CREATE TABLE webhook_deliveries (
    id BIGSERIAL PRIMARY KEY,
    outbox_id BIGINT NOT NULL REFERENCES webhook_outbox (id) ON DELETE CASCADE,
    attempt BIGINT NOT NULL,
    attempted_at BIGINT NOT NULL,
    status BIGINT,
    error TEXT,
    duration_ms BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_outbox ON webhook_deliveries (outbox_id);

-- Leases: which node does a singleton job (webhook dispatch) until when.
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- ninjs lists newest version first.
CREATE INDEX stories_wire_version ON stories (
    (CASE WHEN status = 'published' THEN COALESCE(updated_at, published_at) ELSE modified_at END) DESC, news_id DESC
);
