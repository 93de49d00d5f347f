-- Desks and stages (as in Superdesk): a desk ("Iran", "World", "Persian
-- service") has members and ordered stages (Incoming, Working, Ready, ...);
-- a story sits on at most one desk, in one of its stages, maybe assigned to a
-- member. The desk is independent of the story's public section.
CREATE TABLE desks (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE desk_members (
    desk_id BIGINT NOT NULL REFERENCES desks (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (desk_id, user_id)
);
CREATE INDEX desk_members_user ON desk_members (user_id);

-- A stage is deleted only when no story is in it (no cascade from stories).
CREATE TABLE desk_stages (
    id BIGSERIAL PRIMARY KEY,
    desk_id BIGINT NOT NULL REFERENCES desks (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    position BIGINT NOT NULL,
    UNIQUE (desk_id, name)
);

-- Where a story is in the newsroom: one row per story on a desk (times in unix seconds).
CREATE TABLE story_desks (
    news_id BIGINT PRIMARY KEY REFERENCES stories (news_id) ON DELETE CASCADE,
    desk_id BIGINT NOT NULL REFERENCES desks (id),
    stage_id BIGINT NOT NULL REFERENCES desk_stages (id),
    assignee_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    moved_at BIGINT NOT NULL,
    moved_by BIGINT REFERENCES users (id) ON DELETE SET NULL
);
CREATE INDEX story_desks_stage ON story_desks (desk_id, stage_id);
CREATE INDEX story_desks_assignee ON story_desks (assignee_id);
