-- The newsroom's extra story fields (the scheduler's lease is in the wire migration's `leases`).

-- The user who created the story (reporters edit only their own drafts).
ALTER TABLE stories ADD COLUMN created_by BIGINT;
-- Internal note for the desk; never public.
ALTER TABLE stories ADD COLUMN editorial_note TEXT NOT NULL DEFAULT '';
-- Public correction note of the last correction.
ALTER TABLE stories ADD COLUMN correction_note TEXT NOT NULL DEFAULT '';
-- Public note shown on a killed story's page.
ALTER TABLE stories ADD COLUMN public_note TEXT NOT NULL DEFAULT '';
-- When a scheduled story goes out (embargoed until then).
ALTER TABLE stories ADD COLUMN scheduled_at BIGINT;
CREATE INDEX stories_due ON stories (status, scheduled_at);

ALTER TABLE story_revisions ADD COLUMN note TEXT NOT NULL DEFAULT '';


-- One-time links with which an invited user sets a password (only the SHA-256 of the token is kept).
CREATE TABLE invites (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL
);
