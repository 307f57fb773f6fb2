-- no-transaction
-- Cases of people without an account (issue 22: counter intake, cases a department's system
-- started itself): `applicant_id` may be NULL, the applicant then known by the keyed hash of
-- their ID number (`applicant_key`, the same hash as accounts.id_number_hash) so that the case
-- joins their 我的办件 once they have an account; and where a case came from (`channel`).
--
-- SQLite cannot drop a NOT NULL: the table is rebuilt, as SQLite's documentation says (foreign
-- keys off while the table is dropped and its copy renamed, in one transaction of its own; the
-- other tables' references to cases then point at the copy, which holds every row).
PRAGMA foreign_keys = OFF;
BEGIN;

CREATE TABLE cases_rebuilt (
    id                  BLOB PRIMARY KEY,
    serial_number       TEXT NOT NULL UNIQUE REFERENCES serial_numbers (number),
    query_password_hash TEXT NOT NULL,
    item_id             BLOB NOT NULL REFERENCES items (id),
    item_code           TEXT NOT NULL,
    item_version        INTEGER NOT NULL,
    item_name           TEXT NOT NULL,
    department_id       BLOB NOT NULL REFERENCES departments (id),
    region_code         TEXT NOT NULL,
    applicant_id        BLOB REFERENCES accounts (id),     -- NULL: a person without an account (at a counter)
    enterprise_id       BLOB REFERENCES enterprises (id),
    applicant_name      TEXT NOT NULL,
    applicant_number_enc TEXT NOT NULL,     -- resident ID or credit code, sealed (SM4)
    contact_phone_enc   TEXT NOT NULL,
    form_enc            TEXT NOT NULL,      -- the submitted form (JSON), sealed
    materials           TEXT NOT NULL,      -- the materials as submitted (JSON)
    workflow            TEXT NOT NULL,      -- the workflow the case was submitted under (JSON)
    step                TEXT NOT NULL,
    back_step           TEXT,               -- where 补齐补正 returns to
    is_open             INTEGER NOT NULL,
    outcome             TEXT CHECK (outcome IN ('granted', 'refused', 'rejected', 'withdrawn')),
    limit_unit          TEXT NOT NULL,
    limit_amount        INTEGER NOT NULL,
    accepted_on         TEXT,
    due_on              TEXT,
    paused_on           TEXT,
    days_left           INTEGER,
    step_due_on         TEXT,
    warning             TEXT NOT NULL DEFAULT 'none' CHECK (warning IN ('none', 'yellow', 'red')),
    escalated_at        TEXT,
    assignee_id         BLOB REFERENCES accounts (id),
    submitted_at        TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    decided_at          TEXT,
    closed_at           TEXT,
    revision            INTEGER NOT NULL DEFAULT 1,
    channel             TEXT NOT NULL DEFAULT 'online' CHECK (channel IN ('online', 'counter', 'department')),
    applicant_key       TEXT                -- without an account: the keyed hash of the ID number
);

INSERT INTO cases_rebuilt (id, serial_number, query_password_hash, item_id, item_code, item_version, item_name, department_id, region_code, applicant_id, enterprise_id, applicant_name, applicant_number_enc, contact_phone_enc, form_enc, materials, workflow, step, back_step, is_open, outcome, limit_unit, limit_amount, accepted_on, due_on, paused_on, days_left, step_due_on, warning, escalated_at, assignee_id, submitted_at, updated_at, decided_at, closed_at, revision)
    SELECT id, serial_number, query_password_hash, item_id, item_code, item_version, item_name, department_id, region_code, applicant_id, enterprise_id, applicant_name, applicant_number_enc, contact_phone_enc, form_enc, materials, workflow, step, back_step, is_open, outcome, limit_unit, limit_amount, accepted_on, due_on, paused_on, days_left, step_due_on, warning, escalated_at, assignee_id, submitted_at, updated_at, decided_at, closed_at, revision FROM cases;
DROP TABLE cases;
ALTER TABLE cases_rebuilt RENAME TO cases;

CREATE INDEX cases_department ON cases (department_id, is_open, step);
CREATE INDEX cases_applicant ON cases (applicant_id, submitted_at);
CREATE INDEX cases_enterprise ON cases (enterprise_id, submitted_at);
CREATE INDEX cases_open_due ON cases (is_open, due_on);
CREATE INDEX cases_applicant_open ON cases (applicant_id, is_open);
CREATE INDEX cases_enterprise_open ON cases (enterprise_id, is_open);
CREATE INDEX cases_personal_open ON cases (applicant_id, is_open) WHERE enterprise_id IS NULL;
CREATE INDEX cases_personal_submitted ON cases (applicant_id, submitted_at) WHERE enterprise_id IS NULL;
CREATE INDEX cases_unclaimed ON cases (applicant_key) WHERE applicant_id IS NULL;
COMMIT;
PRAGMA foreign_keys = ON;
