-- Closing what an attacker found (issue 16): sign-in locks per account (or unknown login) and
-- client address that grow with each lock; requests for verification codes counted per
-- address, network and hall, with used proof-of-work answers; staff accounts waiting for their
-- owner to set a password; enterprise invitations to numbers that have no person account yet.
CREATE TABLE login_locks (
    subject      TEXT NOT NULL,              -- 'account:<id>' or 'login:<keyed hash of what was typed>'
    client_ip    TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0, -- counted before the password is checked
    locks        INTEGER NOT NULL DEFAULT 0, -- how often locked: each lock lasts twice the last
    locked_until TEXT,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (subject, client_ip)
);
CREATE INDEX login_locks_locked ON login_locks (locked_until);

CREATE TABLE code_requests (
    id        BLOB PRIMARY KEY,
    client_ip TEXT NOT NULL,
    network   TEXT NOT NULL,                 -- the address's /24 (IPv4) or /64 (IPv6)
    at        TEXT NOT NULL
);
CREATE INDEX code_requests_ip ON code_requests (client_ip, at);
CREATE INDEX code_requests_network ON code_requests (network, at);
CREATE INDEX code_requests_at ON code_requests (at);

CREATE TABLE spent_proofs (
    challenge  TEXT PRIMARY KEY,
    expires_at TEXT NOT NULL
);

ALTER TABLE accounts ADD COLUMN activation_pending INTEGER NOT NULL DEFAULT 0;

CREATE TABLE enterprise_invitations (
    enterprise_id BLOB NOT NULL REFERENCES enterprises (id),
    phone_hash    TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'agent')),
    invited_by    BLOB REFERENCES accounts (id),
    created_at    TEXT NOT NULL,
    PRIMARY KEY (enterprise_id, phone_hash)
);
CREATE INDEX enterprise_invitations_phone ON enterprise_invitations (phone_hash);
