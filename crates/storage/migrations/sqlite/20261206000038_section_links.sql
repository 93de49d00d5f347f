-- A story page not yet cached lists its section's stories before it (their
-- headlines, links and dates), read from this index. With their slug and
-- headline in the index too, those stories are read from the index alone
-- (PostgreSQL's index-only scan, SQLite's covering index), not from as many
-- rows spread over the table. The section pages walk the same index as
-- before. PostgreSQL keeps the two as included columns; SQLite, which has no
-- INCLUDE, as the last columns of the key.
DROP INDEX stories_section_published;
CREATE INDEX stories_section_published ON stories (section_id, status, published_at DESC, news_id DESC, slug, headline);
