-- Cases: the unified serial number service (DOMAIN.md). One counter per region, issuing service
-- and nature; every issued number with who asked for it and the idempotency key of the request.
CREATE TABLE serial_counters (
    region  INTEGER NOT NULL,
    service INTEGER NOT NULL,
    nature  INTEGER NOT NULL,
    last    BIGINT NOT NULL,
    PRIMARY KEY (region, service, nature)
);

CREATE TABLE serial_numbers (
    number          TEXT PRIMARY KEY,
    region          INTEGER NOT NULL,
    service         INTEGER NOT NULL,
    nature          INTEGER NOT NULL,
    sequence        BIGINT NOT NULL,
    issuer          TEXT NOT NULL,
    idempotency_key TEXT,
    issued_at       TIMESTAMPTZ NOT NULL,
    UNIQUE (issuer, idempotency_key)
);
