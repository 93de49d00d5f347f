-- Ingest sources: where other agencies' wires come from without a person
-- running `newsdesk ingest`. A directory drop (kind 'dir': files appear in
-- `location`, a folder) or an HTTP pull (kind 'http': `location` is the URL
-- of a feed or a ninjs API), each polled every `interval_secs` by one node.
-- Items land in ingested_items with `source` = this source's name.
-- `api_key` is sent to a ninjs API (never shown back); `from_config`: the
-- source is defined in the config file's [[ingest.sources]] and upserted by
-- name at each start. HTTP state: the validators of the last 200 answer
-- (`etag`, `last_modified`), consecutive `failures` and the backoff they set
-- (`next_poll_at`). `items_total` and `errors_total` count since creation.
-- Times are Unix seconds (UTC).
CREATE TABLE ingest_sources (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('dir', 'http')),
    format TEXT NOT NULL CHECK (format IN ('auto', 'newsml-g2', 'nitf', 'ninjs', 'feed')),
    location TEXT NOT NULL,
    api_key TEXT NOT NULL DEFAULT '',
    interval_secs BIGINT NOT NULL CHECK (interval_secs >= 30),
    enabled BIGINT NOT NULL DEFAULT 1,
    from_config BIGINT NOT NULL DEFAULT 0,
    etag TEXT NOT NULL DEFAULT '',
    last_modified TEXT NOT NULL DEFAULT '',
    failures BIGINT NOT NULL DEFAULT 0,
    next_poll_at BIGINT NOT NULL DEFAULT 0,
    last_poll_at BIGINT,
    last_success_at BIGINT,
    last_error_at BIGINT,
    last_error TEXT NOT NULL DEFAULT '',
    items_total BIGINT NOT NULL DEFAULT 0,
    errors_total BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- What a source refused, newest last: a malformed file or answer, an item
-- refused, a fetch that failed. `place` is `file:line:col` (or `file: $.path`)
-- where there is one.
CREATE TABLE ingest_source_errors (
    id BIGSERIAL PRIMARY KEY,
    source_id BIGINT NOT NULL REFERENCES ingest_sources (id) ON DELETE CASCADE,
    at BIGINT NOT NULL,
    place TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX ingest_source_errors_source ON ingest_source_errors (source_id, id);
