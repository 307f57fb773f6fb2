-- Payments (统一网银缴费): payment orders (缴款单) with their 20-digit payment notice numbers,
-- their lines (one per fee), every gateway message received (accepted or refused), refunds,
-- and the per-region daily counters the notice numbers are drawn from.
CREATE TABLE payment_orders (
    id             UUID PRIMARY KEY,
    notice_number  TEXT NOT NULL UNIQUE CHECK (length(notice_number) = 20),
    case_id        UUID NOT NULL REFERENCES cases (id),
    step           TEXT NOT NULL,                 -- the payment step that issued it
    payer_id       UUID NOT NULL REFERENCES accounts (id),
    enterprise_id  UUID,
    payer_name     TEXT NOT NULL,
    department_id  UUID NOT NULL,
    merchant       TEXT NOT NULL,                 -- the collecting unit's code (执收单位编码)
    subject        TEXT NOT NULL,                 -- the item's name
    total_fen      BIGINT NOT NULL CHECK (total_fen > 0),
    refunded_fen   BIGINT NOT NULL DEFAULT 0 CHECK (refunded_fen >= 0 AND refunded_fen <= total_fen),
    currency       TEXT NOT NULL DEFAULT 'CNY' CHECK (currency = 'CNY'),
    state          TEXT NOT NULL CHECK (state IN ('created', 'started', 'submitted', 'success', 'failed',
                                                  'cancelled', 'expired', 'refunded')),
    trade_no       TEXT,                          -- the gateway's payment number
    pay_url        TEXT,
    bank           TEXT,
    paid_at        TIMESTAMPTZ,
    receipt_code   TEXT,                          -- 票据代码
    receipt_number TEXT,                          -- 票据号码
    receipt_check  TEXT,                          -- 校验码
    expires_at     TIMESTAMPTZ NOT NULL,
    issued_by      TEXT NOT NULL,
    closed_note    TEXT NOT NULL DEFAULT '',
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    revision       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX payment_orders_case ON payment_orders (case_id);
CREATE INDEX payment_orders_payer ON payment_orders (payer_id, created_at);
CREATE INDEX payment_orders_state ON payment_orders (state, expires_at);
-- One order a person can still pay per case and payment step.
CREATE UNIQUE INDEX payment_orders_live ON payment_orders (case_id, step)
    WHERE state IN ('created', 'started', 'submitted', 'failed');

CREATE TABLE payment_order_lines (
    order_id   UUID NOT NULL REFERENCES payment_orders (id),
    seq        INTEGER NOT NULL,
    code       TEXT NOT NULL,                     -- 支付项目代码
    name       TEXT NOT NULL,
    amount_fen BIGINT NOT NULL CHECK (amount_fen >= 0),
    PRIMARY KEY (order_id, seq)
);

CREATE TABLE payment_messages (
    id            UUID PRIMARY KEY,
    order_id      UUID REFERENCES payment_orders (id),
    notice_number TEXT NOT NULL,
    source        TEXT NOT NULL CHECK (source IN ('notification', 'query', 'statement')),
    outcome       TEXT NOT NULL CHECK (outcome IN ('settled', 'duplicate', 'noted', 'refused')),
    code          TEXT NOT NULL,                  -- the stable code answered
    detail        TEXT NOT NULL,
    received_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX payment_messages_order ON payment_messages (notice_number, received_at);

CREATE TABLE payment_refunds (
    id          UUID PRIMARY KEY,
    order_id    UUID NOT NULL REFERENCES payment_orders (id),
    amount_fen  BIGINT NOT NULL CHECK (amount_fen > 0),
    reason      TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('pending', 'succeeded', 'failed')),
    gateway_ref TEXT,
    by_account  UUID REFERENCES accounts (id),
    by_name     TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX payment_refunds_order ON payment_refunds (order_id);

CREATE TABLE payment_notice_counters (
    region TEXT NOT NULL,
    day    TEXT NOT NULL,                         -- YYMMDD, China time
    last   BIGINT NOT NULL,
    PRIMARY KEY (region, day)
);

-- Daily reconciliation (对账, design step 11): one run per day and collecting unit (re-running
-- replaces what was not yet resolved), and its discrepancies, each a task staff resolve.
CREATE TABLE payment_reconciliations (
    id              UUID PRIMARY KEY,
    day             DATE NOT NULL,
    merchant        TEXT NOT NULL,
    statement_lines BIGINT NOT NULL,
    statement_fen   BIGINT NOT NULL,
    hall_orders     BIGINT NOT NULL,
    hall_fen        BIGINT NOT NULL,
    matched         BIGINT NOT NULL,
    settled         BIGINT NOT NULL,              -- paid there, not yet here: settled by the run
    discrepancies   BIGINT NOT NULL,
    runs            INTEGER NOT NULL DEFAULT 1,
    finished_at     TIMESTAMPTZ NOT NULL,
    UNIQUE (day, merchant)
);

CREATE TABLE payment_discrepancies (
    id                UUID PRIMARY KEY,
    reconciliation_id UUID NOT NULL REFERENCES payment_reconciliations (id),
    notice_number     TEXT NOT NULL,
    kind              TEXT NOT NULL CHECK (kind IN ('missing_here', 'missing_there', 'amount_mismatch',
                                                    'duplicate', 'unknown_order', 'closed_order')),
    statement_fen     BIGINT,
    hall_fen          BIGINT,
    trade_no          TEXT NOT NULL DEFAULT '',
    detail            TEXT NOT NULL DEFAULT '',
    resolved_at       TIMESTAMPTZ,
    resolved_by       TEXT,
    resolution        TEXT NOT NULL DEFAULT '',
    UNIQUE (reconciliation_id, notice_number, kind)
);
CREATE INDEX payment_discrepancies_open ON payment_discrepancies (resolved_at, reconciliation_id);
