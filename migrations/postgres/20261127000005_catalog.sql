-- The service catalogue: items with immutable published versions, the taxonomy of the
-- navigations (tags) with the mapping from source data onto it, and related items.
CREATE TABLE items (
    id                UUID PRIMARY KEY,
    code              TEXT NOT NULL UNIQUE,           -- the implementation code, kept exactly
    source            TEXT NOT NULL,                  -- 'gd', 'sc', 'local'
    department_id     UUID NOT NULL REFERENCES departments (id),
    region_code       TEXT NOT NULL REFERENCES regions (code),
    -- The published version's searchable facts (empty until first published).
    published_version INTEGER,
    name              TEXT NOT NULL,
    level             TEXT NOT NULL,                  -- province / city / county
    audience          TEXT NOT NULL,                  -- person / enterprise / both
    type_code         TEXT NOT NULL,
    type_text         TEXT NOT NULL,
    nature_code       TEXT NOT NULL,
    online_depth      INTEGER NOT NULL,
    online_apply      BOOLEAN NOT NULL,
    phrases           TEXT NOT NULL DEFAULT '',       -- short name and everyday phrases, for lists and search
    status            TEXT NOT NULL CHECK (status IN ('draft', 'published', 'suspended')),
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX items_department ON items (department_id, name);
CREATE INDEX items_region ON items (region_code);

CREATE TABLE item_versions (
    item_id        UUID NOT NULL REFERENCES items (id),
    version        INTEGER NOT NULL CHECK (version > 0),
    status         TEXT NOT NULL CHECK (status IN ('draft', 'in_review', 'published', 'superseded')),
    content        TEXT NOT NULL,                     -- the guide as JSON (govhall_catalog::ItemContent)
    note           TEXT NOT NULL DEFAULT '',
    review_comment TEXT NOT NULL DEFAULT '',
    created_by     TEXT NOT NULL,
    created_by_id  UUID,                                -- the editor's account (none for imports)
    created_at     TIMESTAMPTZ NOT NULL,
    reviewed_by    TEXT,
    published_at   TIMESTAMPTZ,
    PRIMARY KEY (item_id, version)
);

CREATE TABLE tags (
    id         UUID PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('life_event', 'object', 'theme', 'activity', 'enterprise_type', 'industry')),
    name       TEXT NOT NULL,
    sort       INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (kind, name)
);

CREATE TABLE item_tags (
    item_id UUID NOT NULL REFERENCES items (id),
    tag_id  UUID NOT NULL REFERENCES tags (id),
    PRIMARY KEY (item_id, tag_id)
);
CREATE INDEX item_tags_tag ON item_tags (tag_id, item_id);

-- How a source's values become GovHall tags: editable; applied by every import.
CREATE TABLE tag_mappings (
    id           UUID PRIMARY KEY,
    source_field TEXT NOT NULL,                       -- theme_category, service_object_name, department
    source_value TEXT NOT NULL,                       -- the value (for department: a part of the name)
    tag_id       UUID NOT NULL REFERENCES tags (id),
    UNIQUE (source_field, source_value, tag_id)
);

CREATE TABLE item_relations (
    item_id    UUID NOT NULL REFERENCES items (id),
    related_id UUID NOT NULL REFERENCES items (id),
    kind       TEXT NOT NULL CHECK (kind IN ('prerequisite', 'next_step', 'together')),
    PRIMARY KEY (item_id, related_id)
);
