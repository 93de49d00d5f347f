-- Login attempts per key ('account:<email>' or 'ip:<address or IPv6 /64>'),
-- counted before the password is checked, in fixed windows: one row per key,
-- counted and read back in one statement, so concurrent attempts (on any
-- node) cannot all pass the limit. Replaces login_failures, which was read
-- before and written after the check.
DROP TABLE login_failures;

CREATE TABLE login_attempts (
    key TEXT PRIMARY KEY,
    window_start BIGINT NOT NULL,
    attempts BIGINT NOT NULL
);
