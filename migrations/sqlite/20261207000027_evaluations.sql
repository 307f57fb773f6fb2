-- 好差评 (GB/T 39734/39735): the invitation sent when a case ends, evaluations (one per case,
-- changed at most once), the counts the statistics read (kept in each evaluation's
-- transaction, by day and by month), the departments' 差评 tasks, appeals, and the reports to
-- the upstream system.
CREATE TABLE evaluation_invitations (
    case_id        BLOB PRIMARY KEY REFERENCES cases (id),
    applicant_id   BLOB NOT NULL REFERENCES accounts (id),
    enterprise_id  BLOB,
    serial_number  TEXT NOT NULL,
    item_name      TEXT NOT NULL,
    closed_at      TEXT NOT NULL,
    expires_at     TEXT NOT NULL,      -- no rating after this
    reminded_at    TEXT,               -- the second invitation
    defaulted_at   TEXT,               -- a default rating recorded (where the rules say so)
    created_at     TEXT NOT NULL
);
CREATE INDEX evaluation_invitations_applicant ON evaluation_invitations (applicant_id, expires_at);
CREATE INDEX evaluation_invitations_enterprise ON evaluation_invitations (enterprise_id, expires_at);
CREATE INDEX evaluation_invitations_expiry ON evaluation_invitations (expires_at);

CREATE TABLE evaluations (
    id              BLOB PRIMARY KEY,
    case_id         BLOB NOT NULL UNIQUE REFERENCES cases (id),
    serial_number   TEXT NOT NULL,
    item_code       TEXT NOT NULL,
    item_name       TEXT NOT NULL,
    department_id   BLOB NOT NULL REFERENCES departments (id),
    region_code     TEXT NOT NULL,
    rater_id        BLOB REFERENCES accounts (id),   -- NULL: a hall terminal, or a default
    channel         TEXT NOT NULL CHECK (channel IN ('web', 'app', 'wechat', 'kiosk', 'default')),
    overall         INTEGER NOT NULL CHECK (overall BETWEEN 1 AND 5),
    efficiency      INTEGER CHECK (efficiency BETWEEN 1 AND 5),
    guide_accuracy  INTEGER CHECK (guide_accuracy BETWEEN 1 AND 5),
    convenience     INTEGER CHECK (convenience BETWEEN 1 AND 5),
    usability       INTEGER CHECK (usability BETWEEN 1 AND 5),
    reasons         TEXT NOT NULL,            -- JSON list of reason codes
    comment         TEXT NOT NULL,
    is_default      INTEGER NOT NULL,
    voided_at       TEXT,              -- after an upheld appeal: out of the statistics
    void_reason     TEXT NOT NULL DEFAULT '',
    rated_on        TEXT NOT NULL,            -- the China date it counts on
    created_at      TEXT NOT NULL,
    changed_at      TEXT
);
CREATE INDEX evaluations_department ON evaluations (department_id, created_at);
CREATE INDEX evaluations_item ON evaluations (item_code, created_at);

-- The counts the statistics read, by day and by month (the same evaluations twice: a page over
-- whole months reads the months). Each evaluation adds to one of eight shards of its row, chosen
-- at random, so that evaluations of the same item at once do not queue on one row; a reader sums
-- the shards.
CREATE TABLE evaluation_daily (
    day            TEXT NOT NULL,
    item_code      TEXT NOT NULL,
    department_id  BLOB NOT NULL,
    region_code    TEXT NOT NULL,
    channel        TEXT NOT NULL,
    level          INTEGER NOT NULL,
    shard          INTEGER NOT NULL,
    n              INTEGER NOT NULL,
    PRIMARY KEY (day, item_code, department_id, region_code, channel, level, shard)
);
CREATE INDEX evaluation_daily_item ON evaluation_daily (item_code, day);

CREATE TABLE evaluation_monthly (
    month          TEXT NOT NULL,             -- the month's first day
    item_code      TEXT NOT NULL,
    department_id  BLOB NOT NULL,
    region_code    TEXT NOT NULL,
    channel        TEXT NOT NULL,
    level          INTEGER NOT NULL,
    shard          INTEGER NOT NULL,
    n              INTEGER NOT NULL,
    PRIMARY KEY (month, item_code, department_id, region_code, channel, level, shard)
);
CREATE INDEX evaluation_monthly_item ON evaluation_monthly (item_code, month);

CREATE TABLE rectifications (
    id                BLOB PRIMARY KEY,
    evaluation_id     BLOB NOT NULL UNIQUE REFERENCES evaluations (id),
    department_id     BLOB NOT NULL REFERENCES departments (id),
    region_code       TEXT NOT NULL,
    due_on            TEXT NOT NULL,
    state             TEXT NOT NULL CHECK (state IN ('open', 'answered', 'closed')),
    escalated_at      TEXT,
    called_back       INTEGER NOT NULL DEFAULT 0,
    answer            TEXT NOT NULL DEFAULT '',
    answered_by       BLOB REFERENCES accounts (id),
    answered_by_name  TEXT NOT NULL DEFAULT '',
    answered_at       TEXT,
    on_time           INTEGER,
    rerating          INTEGER CHECK (rerating BETWEEN 1 AND 5),
    rerated_at        TEXT,
    created_at        TEXT NOT NULL
);
CREATE INDEX rectifications_department ON rectifications (department_id, state, due_on);
CREATE INDEX rectifications_due ON rectifications (state, due_on);

CREATE TABLE evaluation_appeals (
    id               BLOB PRIMARY KEY,
    evaluation_id    BLOB NOT NULL REFERENCES evaluations (id),
    department_id    BLOB NOT NULL REFERENCES departments (id),
    reason           TEXT NOT NULL,
    asked_by         BLOB REFERENCES accounts (id),
    asked_by_name    TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('pending', 'upheld', 'rejected')),
    decided_by       BLOB REFERENCES accounts (id),
    decided_by_name  TEXT NOT NULL DEFAULT '',
    decision_note    TEXT NOT NULL DEFAULT '',
    created_at       TEXT NOT NULL,
    decided_at       TEXT
);
CREATE UNIQUE INDEX evaluation_appeals_pending ON evaluation_appeals (evaluation_id) WHERE state = 'pending';
CREATE INDEX evaluation_appeals_state ON evaluation_appeals (state, created_at);

CREATE TABLE evaluation_reports (
    id             BLOB PRIMARY KEY,            -- the upstream system's idempotency key
    evaluation_id  BLOB NOT NULL REFERENCES evaluations (id),
    kind           TEXT NOT NULL CHECK (kind IN ('evaluation', 'rectification', 'void')),
    state          TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
    attempts       INTEGER NOT NULL,
    last_error     TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    sent_at        TEXT
);
CREATE INDEX evaluation_reports_evaluation ON evaluation_reports (evaluation_id, created_at);
