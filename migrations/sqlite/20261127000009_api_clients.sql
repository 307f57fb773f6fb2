-- Systems that call the hall's API with a key of their own (the on-site hall system, department
-- systems): the serial number service first. Only the key's hash is kept.
CREATE TABLE api_clients (
    id             BLOB PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    service_number INTEGER NOT NULL UNIQUE CHECK (service_number BETWEEN 1 AND 99),
    scopes         TEXT NOT NULL,                   -- comma-separated: serial_numbers
    key_hash       TEXT NOT NULL UNIQUE,
    status         TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    created_by     TEXT NOT NULL,
    created_at     TEXT NOT NULL
);
