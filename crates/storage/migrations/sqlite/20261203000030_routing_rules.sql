-- Routing rules: which desk a newly ingested wire item goes to. Rules are
-- tried in `position` order and the first that matches wins. Each condition
-- is optional (an empty one matches everything): the source's name, IPTC
-- Media Topic qcodes (any of them), keywords found in the headline, slugline
-- or text (any of them, case-insensitively), and a highest urgency (the
-- item's urgency at or below it). `subjects` and `keywords` are JSON arrays
-- of strings. With `auto_fetch` a draft is made on the desk at once, in
-- `section_id` (required then: a draft needs a section).
CREATE TABLE routing_rules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    position INTEGER NOT NULL,
    source TEXT NOT NULL,
    subjects TEXT NOT NULL,
    keywords TEXT NOT NULL,
    max_urgency INTEGER CHECK (max_urgency BETWEEN 1 AND 9),
    desk_id INTEGER NOT NULL REFERENCES desks (id) ON DELETE CASCADE,
    auto_fetch INTEGER NOT NULL DEFAULT 0,
    section_id INTEGER REFERENCES sections (id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX routing_rules_position ON routing_rules (position);

-- Where routing sent an item (the first version of a guid; later versions
-- keep the route). `fetch_state` follows an automatic fetch: `none` (the rule does
-- not fetch), `pending`, `claimed` (a node is making the draft), `done`
-- (`news_id` is the draft) or `failed` (`fetch_note` says why).
CREATE TABLE ingest_routes (
    source TEXT NOT NULL,
    guid TEXT NOT NULL,
    desk_id INTEGER NOT NULL REFERENCES desks (id) ON DELETE CASCADE,
    rule_id INTEGER REFERENCES routing_rules (id) ON DELETE SET NULL,
    section_id INTEGER REFERENCES sections (id) ON DELETE SET NULL,
    routed_at INTEGER NOT NULL,
    fetch_state TEXT NOT NULL CHECK (fetch_state IN ('none', 'pending', 'claimed', 'done', 'failed')),
    fetch_note TEXT NOT NULL DEFAULT '',
    news_id INTEGER REFERENCES stories (news_id) ON DELETE SET NULL,
    PRIMARY KEY (source, guid)
);
CREATE INDEX ingest_routes_desk ON ingest_routes (desk_id, routed_at);
CREATE INDEX ingest_routes_fetch ON ingest_routes (fetch_state);
