-- Embeds (issue 17): what the server learnt about a pasted provider URL at
-- save time (oEmbed title and our own copy of its thumbnail), once per URL,
-- so pages show a click-to-load placeholder without asking the provider.
-- `ok` = 0 records a failed or impossible fetch (the URL is the title); it
-- is tried again after a while, never on every save.
CREATE TABLE embeds (
    url TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    thumb_sha256 TEXT,
    thumb_mime TEXT,
    thumb_width BIGINT,
    thumb_height BIGINT,
    thumb_bytes BYTEA,
    ok BIGINT NOT NULL DEFAULT 0,
    fetched_at BIGINT NOT NULL
);
CREATE INDEX embeds_thumb ON embeds (thumb_sha256);
