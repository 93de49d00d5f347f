-- Routing rules: which desk a newly ingested wire item goes to. Rules are
-- tried in `position` order and the first that matches wins. Each condition
-- is optional (an empty one matches everything): the source's name, IPTC
-- Media Topic qcodes (any of them), keywords found in the headline, slugline
-- or text (any of them, case-insensitively), and a highest urgency (the
-- item's urgency at or below it). `subjects` and `keywords` are JSON arrays
-- of strings. With `auto_fetch` a draft is made on the desk at once, in
-- `section_id` (required then: a draft needs a section).
CREATE TABLE routing_rules (
    id BIGSERIAL PRIMARY KEY,
    position BIGINT NOT NULL,
    source TEXT NOT NULL,
    subjects TEXT NOT NULL,
    keywords TEXT NOT NULL,
    max_urgency BIGINT CHECK (max_urgency BETWEEN 1 AND 9),
    desk_id BIGINT NOT NULL REFERENCES desks (id) ON DELETE CASCADE,
    auto_fetch BIGINT NOT NULL DEFAULT 0,
    section_id BIGINT REFERENCES sections (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX routing_rules_position ON routing_rules (position);

-- Where routing sent an item (the first version of a guid; later versions
-- keep the route). `fetch_state` follows an automatic fetch: `none` (the rule does
-- not fetch), `pending`, `claimed` (a node is making the draft), `done`
-- (`news_id` is the draft) or `failed` (`fetch_note` says why).
CREATE TABLE ingest_routes (
    source TEXT NOT NULL,
    guid TEXT NOT NULL,
    desk_id BIGINT NOT NULL REFERENCES desks (id) ON DELETE CASCADE,
    rule_id BIGINT REFERENCES routing_rules (id) ON DELETE SET NULL,
    section_id BIGINT REFERENCES sections (id) ON DELETE SET NULL,
    routed_at BIGINT NOT NULL,
    fetch_state TEXT NOT NULL CHECK (fetch_state IN ('none', 'pending', 'claimed', 'done', 'failed')),
    fetch_note TEXT NOT NULL DEFAULT '',
    news_id BIGINT REFERENCES stories (news_id) ON DELETE SET NULL,
    PRIMARY KEY (source, guid)
);
CREATE INDEX ingest_routes_desk ON ingest_routes (desk_id, routed_at);
CREATE INDEX ingest_routes_fetch ON ingest_routes (fetch_state);
