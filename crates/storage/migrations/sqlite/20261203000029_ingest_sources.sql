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
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('dir', 'http')),
    format TEXT NOT NULL CHECK (format IN ('auto', 'newsml-g2', 'nitf', 'ninjs', 'feed')),
    location TEXT NOT NULL,
    api_key TEXT NOT NULL DEFAULT '',
    interval_secs INTEGER NOT NULL CHECK (interval_secs >= 30),
    enabled INTEGER NOT NULL DEFAULT 1,
    from_config INTEGER NOT NULL DEFAULT 0,
    etag TEXT NOT NULL DEFAULT '',
    last_modified TEXT NOT NULL DEFAULT '',
    failures INTEGER NOT NULL DEFAULT 0,
    next_poll_at INTEGER NOT NULL DEFAULT 0,
    last_poll_at INTEGER,
    last_success_at INTEGER,
    last_error_at INTEGER,
    last_error TEXT NOT NULL DEFAULT '',
    items_total INTEGER NOT NULL DEFAULT 0,
    errors_total INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- What a source refused, newest last: a malformed file or answer, an item
-- refused, a fetch that failed. `place` is `file:line:col` (or `file: $.path`)
-- where there is one.
CREATE TABLE ingest_source_errors (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source_id INTEGER NOT NULL REFERENCES ingest_sources (id) ON DELETE CASCADE,
    at INTEGER NOT NULL,
    place TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX ingest_source_errors_source ON ingest_source_errors (source_id, id);
