-- Files given with a complaint (by the complainant, when making it or adding information), with a
-- department's answer to a 差评 (its rectification) and with an appeal (its evidence). Kept in the
-- database like a case's files; a complaint counts its files so that the limit holds however many
-- additions arrive at once.
CREATE TABLE feedback_files (
    id            UUID PRIMARY KEY,
    owner_kind    TEXT NOT NULL CHECK (owner_kind IN ('complaint', 'rectification', 'appeal')),
    owner_id      UUID NOT NULL,
    added_by      TEXT NOT NULL CHECK (added_by IN ('complainant', 'staff')),
    file_name     TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    size          BIGINT NOT NULL,
    sha256        TEXT NOT NULL,
    content       BYTEA NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX feedback_files_owner ON feedback_files (owner_kind, owner_id, created_at);
ALTER TABLE complaints ADD COLUMN file_count INTEGER NOT NULL DEFAULT 0;
