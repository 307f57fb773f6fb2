-- Search: the synonym table and best bets the catalogue administrators edit, queries that found
-- nothing, and how often each item is visited (for ranking). The index itself lives on each node.
CREATE TABLE search_synonyms (
    id         BLOB PRIMARY KEY,
    terms      TEXT NOT NULL UNIQUE,                -- folded terms, comma-separated, meaning the same
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE search_best_bets (
    query      TEXT NOT NULL,                       -- the folded query it answers
    item_code  TEXT NOT NULL,
    position   INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (query, item_code)
);

CREATE TABLE search_misses (
    query    TEXT PRIMARY KEY,                      -- folded, at most 100 characters
    count    INTEGER NOT NULL,
    first_at TEXT NOT NULL,
    last_at  TEXT NOT NULL
);
CREATE INDEX search_misses_last ON search_misses (last_at);

CREATE TABLE item_popularity (
    code         TEXT PRIMARY KEY,
    visits       INTEGER NOT NULL DEFAULT 0,
    applications INTEGER NOT NULL DEFAULT 0,
    updated_at   TEXT NOT NULL
);
CREATE INDEX item_popularity_updated ON item_popularity (updated_at);

-- Markers of things done once (the default synonyms installed).
CREATE TABLE search_state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
