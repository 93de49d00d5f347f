-- Every change carries the story's state it left, so the webhook dispatcher
-- announces each change on its own (one event per change, in order per
-- story) instead of comparing with the story's current state.
--
-- kind: 'story' (the story or what is shown with it changed) or 'comment'
-- (only its comments; no webhook event). Site-wide changes have news_id 0.
-- status, version, updated_at: the story's row after the change (NULL for
-- site-wide and comment changes, and for changes recorded before this migration).
ALTER TABLE story_changes ADD COLUMN kind TEXT NOT NULL DEFAULT 'story';
ALTER TABLE story_changes ADD COLUMN status TEXT;
ALTER TABLE story_changes ADD COLUMN version INTEGER;
ALTER TABLE story_changes ADD COLUMN updated_at INTEGER;

-- The change an event announces: dispatching a change twice (a failover) adds nothing.
-- NULL for events made before this migration.
ALTER TABLE wire_events ADD COLUMN change_id INTEGER;
CREATE UNIQUE INDEX wire_events_change ON wire_events (change_id);

-- wire_sent now holds the state of the last change the dispatcher handled for
-- each story, and that change's id (changes at or below it are done).
ALTER TABLE wire_sent ADD COLUMN change_id INTEGER NOT NULL DEFAULT 0;
