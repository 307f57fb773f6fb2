-- 投诉: complaints about an item, a department, a case or a hall, from anyone (signed in, or with
-- a mobile number proved by an SMS code), routed to a department by editable rules, answered
-- within working days or escalated, published without personal data when the complainant allows.
CREATE TABLE complaint_routes (
    id             UUID PRIMARY KEY,
    category       TEXT NOT NULL,            -- '' matches every category
    region_prefix  TEXT NOT NULL,            -- '' matches every region
    department_id  UUID NOT NULL REFERENCES departments (id),
    created_by     TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL
);

CREATE TABLE complaints (
    id                UUID PRIMARY KEY,
    number            TEXT NOT NULL UNIQUE,
    password_hash     TEXT NOT NULL,
    complainant_id    UUID REFERENCES accounts (id),   -- NULL: made with a verified number only
    phone_enc         TEXT NOT NULL,
    subject_kind      TEXT NOT NULL CHECK (subject_kind IN ('item', 'department', 'case', 'hall', 'other')),
    subject_ref       TEXT NOT NULL,
    subject_label     TEXT NOT NULL,
    category          TEXT NOT NULL,
    body              TEXT NOT NULL,
    publishable       BOOLEAN NOT NULL,
    channel           TEXT NOT NULL CHECK (channel IN ('web', 'app', 'wechat')),
    department_id     UUID NOT NULL REFERENCES departments (id),
    region_code       TEXT NOT NULL,
    state             TEXT NOT NULL CHECK (state IN ('received', 'accepted', 'rejected', 'answered', 'closed')),
    due_on            DATE NOT NULL,          -- the deadline of the current stage
    escalated_at      TIMESTAMPTZ,
    answer            TEXT NOT NULL DEFAULT '',
    answered_at       TIMESTAMPTZ,
    rating            SMALLINT CHECK (rating BETWEEN 1 AND 5),
    reopened          INTEGER NOT NULL DEFAULT 0,
    published_body    TEXT NOT NULL DEFAULT '',
    published_answer  TEXT NOT NULL DEFAULT '',
    published_at      TIMESTAMPTZ,
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX complaints_department ON complaints (department_id, state, due_on);
CREATE INDEX complaints_due ON complaints (state, due_on);
CREATE INDEX complaints_complainant ON complaints (complainant_id, created_at);
CREATE INDEX complaints_published ON complaints (department_id, published_at) WHERE published_at IS NOT NULL;

CREATE TABLE complaint_events (
    id            UUID PRIMARY KEY,
    complaint_id  UUID NOT NULL REFERENCES complaints (id),
    action        TEXT NOT NULL,
    actor_kind    TEXT NOT NULL CHECK (actor_kind IN ('complainant', 'staff', 'system')),
    actor_name    TEXT NOT NULL,
    note          TEXT NOT NULL,
    at            TIMESTAMPTZ NOT NULL
);
CREATE INDEX complaint_events_complaint ON complaint_events (complaint_id, at);

CREATE TABLE complaint_lookup_failures (
    id      UUID PRIMARY KEY,
    client  TEXT NOT NULL,
    number  TEXT NOT NULL,
    at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX complaint_lookup_failures_client ON complaint_lookup_failures (client, at);
CREATE INDEX complaint_lookup_failures_number ON complaint_lookup_failures (number, at);
