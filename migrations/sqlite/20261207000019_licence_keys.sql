-- Every licence signing key the hall has signed with (the public half only: private keys never
-- enter the database), so that licences signed before a key rotation still verify; a key
-- withdrawn (compromised) no longer vouches for anything it signed. And each licence's history.
CREATE TABLE licence_keys (
    key_id           TEXT PRIMARY KEY,
    public_pem       TEXT NOT NULL,
    distid           TEXT NOT NULL,
    first_seen       TEXT NOT NULL,
    withdrawn_at     TEXT,
    withdrawn_reason TEXT NOT NULL DEFAULT ''
);

CREATE TABLE licence_events (
    licence_id BLOB NOT NULL REFERENCES licences (id),
    seq        INTEGER NOT NULL,
    action     TEXT NOT NULL,        -- issued, imported, revoked, replaced
    detail     TEXT NOT NULL,
    actor_name TEXT NOT NULL,
    at         TEXT NOT NULL,
    PRIMARY KEY (licence_id, seq)
);
