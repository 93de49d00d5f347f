-- Each story's tags and authors with their names, kept in its row.
--
-- Every story page not yet cached shows its tags and authors. Its query built
-- that list from `story_tags`, `story_authors`, `tags` and `authors` for every
-- page, though it changes only when the story is saved or its tags merged: on
-- PostgreSQL a third of the database's work for a page (`pgbench` of the
-- page's query at 1,000,000 stories: ~6,400 queries a second with the list
-- built, ~9,900 with it read from the story's row; bench/README).
-- The list is now kept in `stories.byline`, a JSON array of
-- [kind, id, slug, name] (kind 0 a tag, 1 an author), tags then authors, each
-- in its order. Tags' and authors' names never change once made; whatever
-- writes a story's links writes its list in the same transaction (storage's
-- save, bulk fill and tag merge); the view below gives the list as the link
-- tables have it, for checks and for rows written here.
ALTER TABLE stories ADD COLUMN byline TEXT NOT NULL DEFAULT '[]';

CREATE VIEW story_bylines AS SELECT s.news_id, (
    SELECT COALESCE(json_agg(json_build_array(b.kind, b.id, b.slug, b.name) ORDER BY b.kind, b.position), '[]')::text FROM (
        SELECT 0 AS kind, st.position AS position, t.id AS id, t.slug AS slug, t.name AS name
        FROM story_tags st JOIN tags t ON t.id = st.tag_id WHERE st.news_id = s.news_id
        UNION ALL
        SELECT 1, sa.position, a.id, a.slug, a.name
        FROM story_authors sa JOIN authors a ON a.id = sa.author_id WHERE sa.news_id = s.news_id
    ) b
) AS list FROM stories s;

UPDATE stories SET byline = (SELECT l.list FROM story_bylines l WHERE l.news_id = stories.news_id)
WHERE news_id IN (SELECT news_id FROM story_tags UNION SELECT news_id FROM story_authors);
