-- Unified logistics (统一物流): results sent by courier. A shipment is booked with the courier
-- ('ordering' holds the case's one live shipment while the courier is asked), then follows the
-- courier's events; the recipient is encrypted like all personal data. Events are kept once by
-- the courier's event id, so replayed pushes change nothing.
CREATE TABLE shipments (
    id              UUID PRIMARY KEY,
    case_id         UUID NOT NULL REFERENCES cases (id),
    waybill_no      TEXT UNIQUE,
    carrier         TEXT NOT NULL DEFAULT '',
    state           TEXT NOT NULL CHECK (state IN ('ordering', 'created', 'picked_up', 'in_transit',
                        'out_for_delivery', 'exception', 'delivered', 'returned', 'lost')),
    recipient_enc   TEXT NOT NULL,              -- sealed JSON {name, phone, division_code, address}
    sender          TEXT NOT NULL,              -- JSON, the department's public details
    created_by      UUID REFERENCES accounts (id),
    created_by_name TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    delivered_at    TIMESTAMPTZ
);
-- One live shipment per case: a returned or lost one may be sent again.
CREATE UNIQUE INDEX shipments_one_live ON shipments (case_id) WHERE state NOT IN ('returned', 'lost');
CREATE INDEX shipments_case ON shipments (case_id, created_at);

CREATE TABLE shipment_events (
    shipment_id UUID NOT NULL REFERENCES shipments (id),
    event_id    TEXT NOT NULL,
    status      TEXT NOT NULL,
    description TEXT NOT NULL,
    location    TEXT NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (shipment_id, event_id)
);
