-- The front database (前置库, issue 22): a department connected through tables of its own has the
-- database's address kept here (SM4-sealed: it may hold a password), and the node delivering to
-- it holds a lease, so that nodes running the exchange at once take turns per department.
ALTER TABLE exchange_links ADD COLUMN front_db_url_enc TEXT;
ALTER TABLE exchange_links ADD COLUMN lease_owner TEXT;
ALTER TABLE exchange_links ADD COLUMN lease_until TIMESTAMPTZ;
-- The last time the worker went through the department's tables, and what it found wrong there.
ALTER TABLE exchange_links ADD COLUMN last_sync_at TIMESTAMPTZ;
ALTER TABLE exchange_links ADD COLUMN last_sync_error TEXT;
