-- Cases (办件): the workflow each item's cases follow, the cases with their clock, every
-- transition, attachments and result documents, and failed progress look-ups (for throttling).
CREATE TABLE case_workflows (
    item_code  TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE cases (
    id                  UUID PRIMARY KEY,
    serial_number       TEXT NOT NULL UNIQUE REFERENCES serial_numbers (number),
    query_password_hash TEXT NOT NULL,
    item_id             UUID NOT NULL REFERENCES items (id),
    item_code           TEXT NOT NULL,
    item_version        INTEGER NOT NULL,
    item_name           TEXT NOT NULL,
    department_id       UUID NOT NULL REFERENCES departments (id),
    region_code         TEXT NOT NULL,
    applicant_id        UUID NOT NULL REFERENCES accounts (id),
    enterprise_id       UUID REFERENCES enterprises (id),
    applicant_name      TEXT NOT NULL,
    applicant_number_enc TEXT NOT NULL,     -- resident ID or credit code, sealed (SM4)
    contact_phone_enc   TEXT NOT NULL,
    form_enc            TEXT NOT NULL,      -- the submitted form (JSON), sealed
    materials           TEXT NOT NULL,      -- the materials as submitted (JSON)
    workflow            TEXT NOT NULL,      -- the workflow the case was submitted under (JSON)
    step                TEXT NOT NULL,
    back_step           TEXT,               -- where 补齐补正 returns to
    is_open             BOOLEAN NOT NULL,
    outcome             TEXT CHECK (outcome IN ('granted', 'refused', 'rejected', 'withdrawn')),
    limit_unit          TEXT NOT NULL,
    limit_amount        INTEGER NOT NULL,
    accepted_on         DATE,
    due_on              DATE,
    paused_on           DATE,
    days_left           INTEGER,
    step_due_on         DATE,
    warning             TEXT NOT NULL DEFAULT 'none' CHECK (warning IN ('none', 'yellow', 'red')),
    escalated_at        TIMESTAMPTZ,
    assignee_id         UUID REFERENCES accounts (id),
    submitted_at        TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL,
    decided_at          TIMESTAMPTZ,
    closed_at           TIMESTAMPTZ,
    revision            INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX cases_department ON cases (department_id, is_open, step);
CREATE INDEX cases_applicant ON cases (applicant_id, submitted_at);
CREATE INDEX cases_enterprise ON cases (enterprise_id, submitted_at);
CREATE INDEX cases_open_due ON cases (is_open, due_on);

CREATE TABLE case_events (
    id         UUID PRIMARY KEY,
    case_id    UUID NOT NULL REFERENCES cases (id),
    seq        INTEGER NOT NULL,
    action     TEXT NOT NULL,
    label      TEXT NOT NULL,
    from_step  TEXT,
    to_step    TEXT NOT NULL,
    actor_kind TEXT NOT NULL CHECK (actor_kind IN ('applicant', 'staff', 'system')),
    actor_id   UUID,
    actor_name TEXT NOT NULL,
    note       TEXT NOT NULL,
    at         TIMESTAMPTZ NOT NULL,
    UNIQUE (case_id, seq)
);

CREATE TABLE case_files (
    id           UUID PRIMARY KEY,
    case_id      UUID NOT NULL REFERENCES cases (id),
    event_id     UUID NOT NULL REFERENCES case_events (id),
    kind         TEXT NOT NULL CHECK (kind IN ('attachment', 'result')),
    file_name    TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         BIGINT NOT NULL,
    sha256       TEXT NOT NULL,
    content      BYTEA NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX case_files_case ON case_files (case_id);

CREATE TABLE progress_failures (
    id     UUID PRIMARY KEY,
    client TEXT NOT NULL,
    serial TEXT NOT NULL,
    at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX progress_failures_serial ON progress_failures (serial, at);
CREATE INDEX progress_failures_client ON progress_failures (client, at);
