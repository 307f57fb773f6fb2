-- The audit log becomes several hash chains, so that audited writes do not wait for each other,
-- with signed checkpoints of every chain's head. Existing entries become chain 0, unchanged
-- (their hashes stay valid: chain 0 hangs from the old genesis).

ALTER TABLE audit_log ADD COLUMN chain INTEGER NOT NULL DEFAULT 0;
ALTER TABLE audit_log ADD COLUMN chain_seq BIGINT;
DROP TRIGGER audit_log_no_update;
UPDATE audit_log SET chain_seq = seq;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE UNIQUE INDEX audit_log_chain ON audit_log (chain, chain_seq);
CREATE INDEX audit_log_target ON audit_log (target_id, seq);

-- Each chain's last entry (on SQLite the one writer orders everything; the rows keep the two
-- backends alike).
CREATE TABLE audit_heads (
    chain     INTEGER PRIMARY KEY,
    chain_seq BIGINT NOT NULL,            -- 0: no entry yet
    hash      TEXT NOT NULL               -- '' for no entry
);
WITH RECURSIVE g(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM g WHERE n < 15)
INSERT INTO audit_heads (chain, chain_seq, hash) SELECT n, 0, '' FROM g;
UPDATE audit_heads SET chain_seq = (SELECT seq FROM audit_log ORDER BY seq DESC LIMIT 1),
                       hash = (SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1)
WHERE chain = 0 AND EXISTS (SELECT 1 FROM audit_log);

CREATE TABLE audit_checkpoints (
    seq        BIGINT PRIMARY KEY,
    at         TEXT NOT NULL,
    heads      TEXT NOT NULL,             -- JSON [[chain, chain_seq, hash], …]
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL,
    scheme     TEXT NOT NULL,             -- 'hmac-sm3'
    signature  TEXT NOT NULL
);
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;
