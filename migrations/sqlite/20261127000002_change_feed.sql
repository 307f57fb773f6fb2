-- The change feed: an ordered log of changed records that every node follows to refresh its
-- caches and its search index. seq only grows, and commits in order (one writer at a time).
CREATE TABLE changes (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    entity     TEXT NOT NULL,
    entity_id  TEXT NOT NULL,
    op         TEXT NOT NULL CHECK (op IN ('insert', 'update', 'delete')),
    changed_at TEXT NOT NULL
);
