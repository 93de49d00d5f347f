-- Agency metadata of a story (named as in ninjs 2.2): how urgent it is (1
-- flash … 8 lowest), the desk's short name for it (slugline), the dateline's
-- place (located), IPTC genre codes and IPTC Media Topic qcodes (each a
-- space-separated list of codes, in order), the editor's note to subscribers
-- (ednote, distinct from the internal editorial_note), and whether the
-- subjects are shown as tags on the public page.
ALTER TABLE stories ADD COLUMN urgency INTEGER NOT NULL DEFAULT 4;
ALTER TABLE stories ADD COLUMN slugline TEXT NOT NULL DEFAULT '';
ALTER TABLE stories ADD COLUMN located TEXT NOT NULL DEFAULT '';
ALTER TABLE stories ADD COLUMN genres TEXT NOT NULL DEFAULT '';
ALTER TABLE stories ADD COLUMN subjects TEXT NOT NULL DEFAULT '';
ALTER TABLE stories ADD COLUMN ednote TEXT NOT NULL DEFAULT '';
ALTER TABLE stories ADD COLUMN subjects_public INTEGER NOT NULL DEFAULT 0;
CREATE INDEX stories_urgency ON stories (urgency, modified_at);

