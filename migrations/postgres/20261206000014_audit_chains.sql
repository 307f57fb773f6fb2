-- The audit log becomes several hash chains, so that audited writes do not wait for each other,
-- with signed checkpoints of every chain's head. Existing entries become chain 0, unchanged
-- (their hashes stay valid: chain 0 hangs from the old genesis).

ALTER TABLE audit_log ADD COLUMN chain INTEGER NOT NULL DEFAULT 0;
ALTER TABLE audit_log ADD COLUMN chain_seq BIGINT;
ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only;
UPDATE audit_log SET chain_seq = seq;
ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only;
ALTER TABLE audit_log ALTER COLUMN chain_seq SET NOT NULL;
ALTER TABLE audit_log ALTER COLUMN chain DROP DEFAULT;
CREATE UNIQUE INDEX audit_log_chain ON audit_log (chain, chain_seq);
CREATE INDEX audit_log_target ON audit_log (target_id, seq);

-- `seq` only orders the list now: numbers from a sequence, which never waits (and may skip).
CREATE SEQUENCE audit_log_seq OWNED BY audit_log.seq;
SELECT setval('audit_log_seq', COALESCE((SELECT MAX(seq) FROM audit_log), 0) + 1, false);
ALTER TABLE audit_log ALTER COLUMN seq SET DEFAULT nextval('audit_log_seq');

-- Each chain's last entry. A writer locks a free row (FOR UPDATE SKIP LOCKED) until it commits.
CREATE TABLE audit_heads (
    chain     INTEGER PRIMARY KEY,
    chain_seq BIGINT NOT NULL,            -- 0: no entry yet
    hash      TEXT NOT NULL               -- '' for no entry
);
INSERT INTO audit_heads (chain, chain_seq, hash) SELECT g, 0, '' FROM generate_series(0, 15) AS g;
UPDATE audit_heads SET chain_seq = l.seq, hash = l.hash
FROM (SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1) AS l
WHERE audit_heads.chain = 0;

CREATE TABLE audit_checkpoints (
    seq        BIGINT PRIMARY KEY,
    at         TIMESTAMPTZ NOT NULL,
    heads      TEXT NOT NULL,             -- JSON [[chain, chain_seq, hash], …]
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL,
    scheme     TEXT NOT NULL,             -- 'hmac-sm3'
    signature  TEXT NOT NULL
);
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
