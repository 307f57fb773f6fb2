-- Calls of each department system per minute (issue 22): counted with one upsert before the
-- call is served, so that calls sent at once see consecutive counts; old minutes are swept.
CREATE TABLE exchange_rates (
    client_id    BLOB NOT NULL,
    minute       TEXT NOT NULL,
    calls        INTEGER NOT NULL,
    PRIMARY KEY (client_id, minute)
);
