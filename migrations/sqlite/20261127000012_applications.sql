-- Online applications (在线申报): drafts (暂存) with their answers sealed, the files uploaded for
-- each material (kept in the file store, described here), and what became of a submission.
CREATE TABLE applications (
    id               BLOB PRIMARY KEY,
    applicant_id     BLOB NOT NULL REFERENCES accounts (id),
    enterprise_id    BLOB,
    enterprise_key   TEXT NOT NULL,            -- '' for oneself, else the enterprise id
    item_code        TEXT NOT NULL,
    item_name        TEXT NOT NULL,
    item_version     INTEGER NOT NULL,
    answers_enc      TEXT NOT NULL,            -- SM4-sealed JSON answers
    brought_from     TEXT,                     -- serial number of the application answers were brought from
    state            TEXT NOT NULL CHECK (state IN ('draft', 'submitting', 'submitted')),
    case_id          BLOB REFERENCES cases (id),
    serial_number    TEXT,
    password_enc     TEXT,                     -- sealed query password, until shown once
    revision         INTEGER NOT NULL DEFAULT 0,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    submitted_at     TEXT,
    purge_noticed_at TEXT
);
CREATE UNIQUE INDEX applications_one_draft ON applications (applicant_id, item_code, enterprise_key)
    WHERE state = 'draft';
CREATE INDEX applications_applicant ON applications (applicant_id, updated_at);
CREATE INDEX applications_idle ON applications (state, updated_at);
CREATE INDEX applications_case ON applications (case_id);

CREATE TABLE application_files (
    id             BLOB PRIMARY KEY,
    application_id BLOB NOT NULL REFERENCES applications (id),
    material       INTEGER NOT NULL,           -- the material's place in the guide
    material_name  TEXT NOT NULL,
    file_name      TEXT NOT NULL,
    content_type   TEXT NOT NULL,
    size           INTEGER NOT NULL,
    sha256         TEXT NOT NULL,
    store_key      TEXT NOT NULL,
    created_at     TEXT NOT NULL
);
CREATE INDEX application_files_application ON application_files (application_id, material);

-- Stored objects whose description is not settled: written before an upload starts and when a
-- file is removed, dropped when the file is recorded or gone from the store. One left behind (a
-- crash between storing and recording, a store that failed to delete) names an object for the
-- daily sweep to remove.
CREATE TABLE upload_intents (
    store_key  TEXT PRIMARY KEY,
    created_at TEXT NOT NULL
);
