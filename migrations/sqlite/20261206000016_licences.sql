-- Electronic licences (电子证照): licence types (imported from a file), which items' grants
-- issue which type, the licences (holder and fields encrypted, the holder's number also as a
-- lookup hash, masked copies for public verification), their events, and the per-type yearly
-- counters licence numbers are drawn from.
CREATE TABLE licence_types (
    code          TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    department_id BLOB NOT NULL REFERENCES departments (id),
    issuer_code   TEXT NOT NULL,                 -- the issuing authority's credit code
    holder_kind   TEXT NOT NULL CHECK (holder_kind IN ('person', 'enterprise')),
    valid_years   INTEGER,                       -- NULL: no end (长期有效)
    fields        TEXT NOT NULL,                 -- JSON: [{key, label, from, required}]
    updated_at    TEXT NOT NULL
);

CREATE TABLE licence_type_items (
    item_code  TEXT PRIMARY KEY,
    type_code  TEXT NOT NULL REFERENCES licence_types (code)
);

CREATE TABLE licences (
    id                    BLOB PRIMARY KEY,
    identifier            TEXT NOT NULL UNIQUE,  -- 证照标识
    type_code             TEXT NOT NULL REFERENCES licence_types (code),
    type_name             TEXT NOT NULL,          -- as signed (a renamed type keeps its licences)
    number                TEXT NOT NULL,          -- 证照编号
    holder_kind           TEXT NOT NULL CHECK (holder_kind IN ('person', 'enterprise')),
    holder_name_enc       TEXT NOT NULL,
    holder_number_enc     TEXT NOT NULL,
    holder_hash           TEXT NOT NULL,          -- lookup hash of the holder's number
    holder_name_masked    TEXT NOT NULL,
    holder_number_masked  TEXT NOT NULL,
    issuer_name           TEXT NOT NULL,
    department_id         BLOB NOT NULL REFERENCES departments (id),
    region_code           TEXT NOT NULL,
    issuer_code           TEXT NOT NULL,
    valid_from            TEXT NOT NULL,          -- YYYY-MM-DD
    valid_until           TEXT,                   -- NULL: no end
    fields_enc            TEXT NOT NULL,          -- JSON [[key, label, value]], encrypted
    signature             TEXT NOT NULL,          -- SM2 r || s, hex, over the canonical form
    key_id                TEXT NOT NULL,
    state                 TEXT NOT NULL CHECK (state IN ('valid', 'revoked')),
    revoked_at            TEXT,
    revoked_reason        TEXT NOT NULL DEFAULT '',
    case_id               BLOB UNIQUE REFERENCES cases (id),
    account_id            BLOB REFERENCES accounts (id),
    enterprise_id         BLOB,
    issued_at             TEXT NOT NULL,
    UNIQUE (type_code, number)
);
CREATE INDEX licences_holder ON licences (holder_hash);
CREATE INDEX licences_account ON licences (account_id);
CREATE INDEX licences_enterprise ON licences (enterprise_id);

CREATE TABLE licence_counters (
    type_code  TEXT NOT NULL,
    year       INTEGER NOT NULL,
    last       INTEGER NOT NULL,
    PRIMARY KEY (type_code, year)
);

-- A material of a draft given as one of the applicant's licences (可免交，自动调取), by the
-- material's name as files are (a new version of the guide may reorder its materials).
CREATE TABLE application_licences (
    application_id  BLOB NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    material_name   TEXT NOT NULL,
    licence_id      BLOB NOT NULL REFERENCES licences (id),
    created_at      TEXT NOT NULL,
    PRIMARY KEY (application_id, material_name)
);
