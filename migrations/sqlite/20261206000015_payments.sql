-- Payments (统一网银缴费): payment orders (缴款单) with their 20-digit payment notice numbers,
-- their lines (one per fee), every gateway message received (accepted or refused), refunds,
-- and the per-region daily counters the notice numbers are drawn from.
CREATE TABLE payment_orders (
    id             BLOB PRIMARY KEY,
    notice_number  TEXT NOT NULL UNIQUE CHECK (length(notice_number) = 20),
    case_id        BLOB NOT NULL REFERENCES cases (id),
    step           TEXT NOT NULL,                 -- the payment step that issued it
    payer_id       BLOB NOT NULL REFERENCES accounts (id),
    enterprise_id  BLOB,
    payer_name     TEXT NOT NULL,
    department_id  BLOB NOT NULL,
    merchant       TEXT NOT NULL,                 -- the collecting unit's code (执收单位编码)
    subject        TEXT NOT NULL,                 -- the item's name
    total_fen      INTEGER NOT NULL CHECK (total_fen > 0),
    refunded_fen   INTEGER NOT NULL DEFAULT 0 CHECK (refunded_fen >= 0 AND refunded_fen <= total_fen),
    currency       TEXT NOT NULL DEFAULT 'CNY' CHECK (currency = 'CNY'),
    state          TEXT NOT NULL CHECK (state IN ('created', 'started', 'submitted', 'success', 'failed',
                                                  'cancelled', 'expired', 'refunded')),
    trade_no       TEXT,                          -- the gateway's payment number
    pay_url        TEXT,
    bank           TEXT,
    paid_at        TEXT,
    receipt_code   TEXT,                          -- 票据代码
    receipt_number TEXT,                          -- 票据号码
    receipt_check  TEXT,                          -- 校验码
    expires_at     TEXT NOT NULL,
    issued_by      TEXT NOT NULL,
    closed_note    TEXT NOT NULL DEFAULT '',
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    revision       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX payment_orders_case ON payment_orders (case_id);
CREATE INDEX payment_orders_payer ON payment_orders (payer_id, created_at);
CREATE INDEX payment_orders_state ON payment_orders (state, expires_at);
-- One order a person can still pay per case and payment step.
CREATE UNIQUE INDEX payment_orders_live ON payment_orders (case_id, step)
    WHERE state IN ('created', 'started', 'submitted', 'failed');

CREATE TABLE payment_order_lines (
    order_id   BLOB NOT NULL REFERENCES payment_orders (id),
    seq        INTEGER NOT NULL,
    code       TEXT NOT NULL,                     -- 支付项目代码
    name       TEXT NOT NULL,
    amount_fen INTEGER NOT NULL CHECK (amount_fen >= 0),
    PRIMARY KEY (order_id, seq)
);

CREATE TABLE payment_messages (
    id            BLOB PRIMARY KEY,
    order_id      BLOB REFERENCES payment_orders (id),
    notice_number TEXT NOT NULL,
    source        TEXT NOT NULL CHECK (source IN ('notification', 'query', 'statement')),
    outcome       TEXT NOT NULL CHECK (outcome IN ('settled', 'duplicate', 'noted', 'refused')),
    code          TEXT NOT NULL,                  -- the stable code answered
    detail        TEXT NOT NULL,
    received_at   TEXT NOT NULL
);
CREATE INDEX payment_messages_order ON payment_messages (notice_number, received_at);

CREATE TABLE payment_refunds (
    id          BLOB PRIMARY KEY,
    order_id    BLOB NOT NULL REFERENCES payment_orders (id),
    amount_fen  INTEGER NOT NULL CHECK (amount_fen > 0),
    reason      TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('pending', 'succeeded', 'failed')),
    gateway_ref TEXT,
    by_account  BLOB REFERENCES accounts (id),
    by_name     TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX payment_refunds_order ON payment_refunds (order_id);

CREATE TABLE payment_notice_counters (
    region TEXT NOT NULL,
    day    TEXT NOT NULL,                         -- YYMMDD, China time
    last   INTEGER NOT NULL,
    PRIMARY KEY (region, day)
);

-- Daily reconciliation (对账, design step 11): one run per day and collecting unit (re-running
-- replaces what was not yet resolved), and its discrepancies, each a task staff resolve.
CREATE TABLE payment_reconciliations (
    id              BLOB PRIMARY KEY,
    day             TEXT NOT NULL,
    merchant        TEXT NOT NULL,
    statement_lines INTEGER NOT NULL,
    statement_fen   INTEGER NOT NULL,
    hall_orders     INTEGER NOT NULL,
    hall_fen        INTEGER NOT NULL,
    matched         INTEGER NOT NULL,
    settled         INTEGER NOT NULL,              -- paid there, not yet here: settled by the run
    discrepancies   INTEGER NOT NULL,
    runs            INTEGER NOT NULL DEFAULT 1,
    finished_at     TEXT NOT NULL,
    UNIQUE (day, merchant)
);

CREATE TABLE payment_discrepancies (
    id                BLOB PRIMARY KEY,
    reconciliation_id BLOB NOT NULL REFERENCES payment_reconciliations (id),
    notice_number     TEXT NOT NULL,
    kind              TEXT NOT NULL CHECK (kind IN ('missing_here', 'missing_there', 'amount_mismatch',
                                                    'duplicate', 'unknown_order', 'closed_order')),
    statement_fen     INTEGER,
    hall_fen          INTEGER,
    trade_no          TEXT NOT NULL DEFAULT '',
    detail            TEXT NOT NULL DEFAULT '',
    resolved_at       TEXT,
    resolved_by       TEXT,
    resolution        TEXT NOT NULL DEFAULT '',
    UNIQUE (reconciliation_id, notice_number, kind)
);
CREATE INDEX payment_discrepancies_open ON payment_discrepancies (resolved_at, reconciliation_id);
