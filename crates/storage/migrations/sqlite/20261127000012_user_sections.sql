-- The sections an editor is assigned to (comma-separated section ids, each with
-- its subsections); empty: all sections.
ALTER TABLE users ADD COLUMN sections TEXT NOT NULL DEFAULT '';
