-- The urgency (1 flash … 8 lowest) that stories fetched onto a desk start
-- with when their source gives none; NULL: the house default, 4.
ALTER TABLE desks ADD COLUMN default_urgency BIGINT;
