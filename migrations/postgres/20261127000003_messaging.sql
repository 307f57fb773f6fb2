-- The message center: templates (versioned), messages with their lifecycle, every transition,
-- and verification codes.
CREATE TABLE message_templates (
    id         UUID PRIMARY KEY,
    code       TEXT NOT NULL,
    channel    TEXT NOT NULL CHECK (channel IN ('inbox', 'sms', 'email', 'webhook', 'wechat')),
    version    INTEGER NOT NULL CHECK (version > 0),
    subject    TEXT NOT NULL DEFAULT '',
    body       TEXT NOT NULL,
    note       TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (code, channel, version)
);

CREATE TABLE messages (
    id                  UUID PRIMARY KEY,
    template_code       TEXT NOT NULL,
    template_version    INTEGER NOT NULL,
    channel             TEXT NOT NULL,
    recipient           TEXT NOT NULL,
    subject             TEXT NOT NULL DEFAULT '',
    body                TEXT NOT NULL,
    idempotency_key     TEXT UNIQUE,
    is_verification     BOOLEAN NOT NULL DEFAULT FALSE,
    status              TEXT NOT NULL CHECK (status IN ('created', 'sending', 'delivered', 'temporary_failure',
                                                        'permanent_failure', 'technical_failure', 'cancelled')),
    attempts            INTEGER NOT NULL DEFAULT 0,
    send_at TIMESTAMPTZ NOT NULL,
    provider            TEXT,
    provider_message_id TEXT,
    last_error          TEXT,
    read_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    sending_at TIMESTAMPTZ,
    delivered_at TIMESTAMPTZ,
    failed_at TIMESTAMPTZ,
    cancelled_at TIMESTAMPTZ,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX messages_recipient ON messages (channel, recipient, created_at);
CREATE INDEX messages_status ON messages (status, created_at);
CREATE INDEX messages_sending ON messages (channel, sending_at);
CREATE INDEX messages_provider_id ON messages (provider, provider_message_id);

CREATE TABLE message_events (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id UUID NOT NULL REFERENCES messages (id),
    status     TEXT NOT NULL,
    detail     TEXT NOT NULL DEFAULT '',
    at         TIMESTAMPTZ NOT NULL
);

CREATE INDEX message_events_message ON message_events (message_id, id);

CREATE TABLE verification_codes (
    id           UUID PRIMARY KEY,
    purpose      TEXT NOT NULL,
    channel      TEXT NOT NULL,
    recipient    TEXT NOT NULL,
    code_hash    TEXT NOT NULL,
    tries        INTEGER NOT NULL DEFAULT 0,
    expires_at TIMESTAMPTZ NOT NULL,
    consumed_at TIMESTAMPTZ,
    message_id   UUID,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX verification_codes_recipient ON verification_codes (purpose, recipient, created_at);
