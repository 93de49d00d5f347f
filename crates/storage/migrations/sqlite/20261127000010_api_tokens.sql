-- Personal API tokens of back-office users, for the /api/v1 write API.
-- Only the SHA-256 of a token is stored; the token is shown once when made.
-- Times are unix seconds, UTC.

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- hex SHA-256 of the whole token
    token_hash TEXT NOT NULL UNIQUE,
    -- the first characters of the token, to recognise it in lists
    prefix TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at INTEGER
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);
