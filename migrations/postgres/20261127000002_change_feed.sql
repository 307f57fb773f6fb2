-- The change feed: an ordered log of changed records that every node follows to refresh its
-- caches and its search index. Writers serialize on an advisory lock (see changes.rs), so seq
-- commits in order and a reader that has seen seq N never later finds a smaller one.
CREATE TABLE changes (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entity     TEXT NOT NULL,
    entity_id  TEXT NOT NULL,
    op         TEXT NOT NULL CHECK (op IN ('insert', 'update', 'delete')),
    changed_at TIMESTAMPTZ NOT NULL
);
