-- The exchange with department back-office systems (issue 22): a department connected to the
-- hall, the cases waiting for its system to collect them, the events its system sent (kept by
-- their idempotency keys), the nonces of signed requests (replays refused), and the log of every
-- message in and out.

-- A client may be held to the addresses it calls from (comma-separated addresses and CIDR
-- blocks; empty: any) and to signing its requests with a key of its own (SM4-sealed; NULL: its
-- requests are not signed).
ALTER TABLE api_clients ADD COLUMN allowed_ips TEXT NOT NULL DEFAULT '';
ALTER TABLE api_clients ADD COLUMN signing_secret_enc TEXT;

CREATE TABLE exchange_links (
    department_id  BLOB PRIMARY KEY REFERENCES departments (id),
    mode           TEXT NOT NULL CHECK (mode IN ('api', 'front_db')),
    client_id      BLOB REFERENCES api_clients (id),
    alert_minutes  INTEGER NOT NULL CHECK (alert_minutes BETWEEN 5 AND 10080),
    active         INTEGER NOT NULL,
    created_by     TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    last_contact_at TEXT,
    alerted_at     TEXT
);

CREATE TABLE exchange_outbox (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id        BLOB NOT NULL UNIQUE REFERENCES cases (id),
    department_id  BLOB NOT NULL REFERENCES departments (id),
    queued_at      TEXT NOT NULL,
    delivered_at   TEXT,          -- first handed over
    deliveries     INTEGER NOT NULL DEFAULT 0,
    acked_at       TEXT
);
CREATE INDEX exchange_outbox_pending ON exchange_outbox (department_id, seq) WHERE acked_at IS NULL;

CREATE TABLE exchange_events (
    client_id       BLOB NOT NULL REFERENCES api_clients (id),
    idempotency_key TEXT NOT NULL,
    case_id         BLOB NOT NULL REFERENCES cases (id),
    action          TEXT NOT NULL,
    handler         TEXT NOT NULL,
    occurred_at     TEXT NOT NULL,    -- when the department's system says it happened
    content_sm3     TEXT NOT NULL,
    answer          TEXT NOT NULL,           -- the answer given (JSON), given again to a replay
    created_at      TEXT NOT NULL,
    PRIMARY KEY (client_id, idempotency_key)
);

CREATE TABLE exchange_nonces (
    client_id  BLOB NOT NULL,
    nonce      TEXT NOT NULL,
    seen_at    TEXT NOT NULL,
    PRIMARY KEY (client_id, nonce)
);
CREATE INDEX exchange_nonces_seen ON exchange_nonces (seen_at);

CREATE TABLE exchange_log (
    id             BLOB PRIMARY KEY,
    at             TEXT NOT NULL,
    department_id  BLOB REFERENCES departments (id),
    client_id      BLOB,
    direction      TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    kind           TEXT NOT NULL,            -- pull, ack, event, refused …
    serial_number  TEXT,                     -- the case concerned, if one
    content_sm3    TEXT NOT NULL,            -- SM3 of what was sent or received
    outcome        TEXT NOT NULL CHECK (outcome IN ('ok', 'refused', 'failed')),
    error_code     TEXT,
    detail         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX exchange_log_department ON exchange_log (department_id, at);
CREATE INDEX exchange_log_serial ON exchange_log (serial_number, at);
