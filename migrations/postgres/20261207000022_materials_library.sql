-- The materials library (材料库, design sections 2.3.4 and 2.5.3): documents a person or an
-- enterprise gave once, to give again. A row describes a stored object; the object may be one an
-- application file describes too (a file collected from a submitted application, or reused into
-- a draft): an object is removed only when no row of either table names it.
CREATE TABLE library_materials (
    id               UUID PRIMARY KEY,
    owner_key        TEXT NOT NULL,              -- 'p:<account id>' or 'e:<enterprise id>'
    account_id       UUID REFERENCES accounts (id),
    enterprise_id    UUID REFERENCES enterprises (id),
    kind             TEXT NOT NULL,              -- the material's name, normalised (kinds.rs)
    title            TEXT NOT NULL,
    category         TEXT NOT NULL,              -- 'own', 'result', 'other' or 'custom:<name>'
    source           TEXT NOT NULL CHECK (source IN ('application', 'added', 'result')),
    file_name        TEXT NOT NULL,
    content_type     TEXT NOT NULL,
    size             BIGINT NOT NULL,
    sha256           TEXT NOT NULL,
    store_key        TEXT NOT NULL,
    valid_until      DATE,                       -- a date; none when the document does not say
    from_serial      TEXT,                       -- the case it was first given with
    created_by       UUID NOT NULL REFERENCES accounts (id),
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    last_used_at     TIMESTAMPTZ
);
CREATE UNIQUE INDEX library_materials_content ON library_materials (owner_key, sha256);
CREATE INDEX library_materials_owner ON library_materials (owner_key, created_at);
CREATE INDEX library_materials_store_key ON library_materials (store_key);

-- Bytes kept per library, counted in the transaction that adds or removes a row (the quota).
CREATE TABLE library_usage (
    owner_key   TEXT PRIMARY KEY,
    used_bytes  BIGINT NOT NULL
);

-- A file of a draft given from the library: which material, and where it came from as staff
-- read it (kept when the library row is later removed).
ALTER TABLE application_files ADD COLUMN library_material_id UUID;
ALTER TABLE application_files ADD COLUMN provenance TEXT;
CREATE INDEX application_files_store_key ON application_files (store_key);
