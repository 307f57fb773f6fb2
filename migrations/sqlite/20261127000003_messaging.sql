-- The message center: templates (versioned), messages with their lifecycle, every transition,
-- and verification codes.
CREATE TABLE message_templates (
    id         BLOB PRIMARY KEY,
    code       TEXT NOT NULL,
    channel    TEXT NOT NULL CHECK (channel IN ('inbox', 'sms', 'email', 'webhook', 'wechat')),
    version    INTEGER NOT NULL CHECK (version > 0),
    subject    TEXT NOT NULL DEFAULT '',
    body       TEXT NOT NULL,
    note       TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (code, channel, version)
);

CREATE TABLE messages (
    id                  BLOB PRIMARY KEY,
    template_code       TEXT NOT NULL,
    template_version    INTEGER NOT NULL,
    channel             TEXT NOT NULL,
    recipient           TEXT NOT NULL,
    subject             TEXT NOT NULL DEFAULT '',
    body                TEXT NOT NULL,
    idempotency_key     TEXT UNIQUE,
    is_verification     INTEGER NOT NULL DEFAULT 0,
    status              TEXT NOT NULL CHECK (status IN ('created', 'sending', 'delivered', 'temporary_failure',
                                                        'permanent_failure', 'technical_failure', 'cancelled')),
    attempts            INTEGER NOT NULL DEFAULT 0,
    send_at             TEXT NOT NULL,
    provider            TEXT,
    provider_message_id TEXT,
    last_error          TEXT,
    read_at             TEXT,
    created_at          TEXT NOT NULL,
    sending_at          TEXT,
    delivered_at        TEXT,
    failed_at           TEXT,
    cancelled_at        TEXT,
    updated_at          TEXT NOT NULL
);

CREATE INDEX messages_recipient ON messages (channel, recipient, created_at);
CREATE INDEX messages_status ON messages (status, created_at);
CREATE INDEX messages_sending ON messages (channel, sending_at);
CREATE INDEX messages_provider_id ON messages (provider, provider_message_id);

CREATE TABLE message_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id BLOB NOT NULL REFERENCES messages (id),
    status     TEXT NOT NULL,
    detail     TEXT NOT NULL DEFAULT '',
    at         TEXT NOT NULL
);

CREATE INDEX message_events_message ON message_events (message_id, id);

CREATE TABLE verification_codes (
    id           BLOB PRIMARY KEY,
    purpose      TEXT NOT NULL,
    channel      TEXT NOT NULL,
    recipient    TEXT NOT NULL,
    code_hash    TEXT NOT NULL,
    tries        INTEGER NOT NULL DEFAULT 0,
    expires_at   TEXT NOT NULL,
    consumed_at  TEXT,
    message_id   BLOB,
    created_at   TEXT NOT NULL
);

CREATE INDEX verification_codes_recipient ON verification_codes (purpose, recipient, created_at);
