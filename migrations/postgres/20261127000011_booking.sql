-- Appointments (网上预约): service halls, the services each offers (items and counters), slot
-- rules, the slots made from them (capacity enforced here: booked never exceeds capacity),
-- bookings (one active per person and item), per-hall daily queue numbers, and blocks after
-- repeated no-shows.
CREATE TABLE halls (
    id            UUID PRIMARY KEY,
    name          TEXT NOT NULL,
    region_code   TEXT NOT NULL REFERENCES regions (code),
    address       TEXT NOT NULL,
    opening_hours TEXT NOT NULL,
    phone         TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    UNIQUE (region_code, name)
);

CREATE TABLE hall_services (
    id         UUID PRIMARY KEY,
    hall_id    UUID NOT NULL REFERENCES halls (id),
    name       TEXT NOT NULL,
    item_codes TEXT NOT NULL,              -- JSON list of item codes
    counters   TEXT NOT NULL,              -- JSON list of counter names
    made_until DATE,                          -- slots are made up to this day (reset by a new rule)
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (hall_id, name)
);

CREATE TABLE slot_rules (
    id           UUID PRIMARY KEY,
    service_id   UUID NOT NULL REFERENCES hall_services (id),
    weekdays     INTEGER NOT NULL,         -- bit 0 Monday … bit 6 Sunday
    start_time   TEXT NOT NULL,            -- HH:MM, China time
    end_time     TEXT NOT NULL,
    slot_minutes INTEGER NOT NULL CHECK (slot_minutes BETWEEN 5 AND 480),
    capacity     INTEGER NOT NULL CHECK (capacity BETWEEN 1 AND 10000),
    valid_from   DATE NOT NULL,
    valid_until  DATE,
    exclusions   TEXT NOT NULL,            -- JSON list of dates
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX slot_rules_service ON slot_rules (service_id);

CREATE TABLE slots (
    id         UUID PRIMARY KEY,
    service_id UUID NOT NULL REFERENCES hall_services (id),
    day        DATE NOT NULL,
    starts_at  TIMESTAMPTZ NOT NULL,
    ends_at    TIMESTAMPTZ NOT NULL,
    capacity   INTEGER NOT NULL CHECK (capacity >= 0),
    booked     INTEGER NOT NULL DEFAULT 0 CHECK (booked >= 0 AND booked <= capacity),
    closed     BOOLEAN NOT NULL DEFAULT FALSE,
    UNIQUE (service_id, starts_at)
);
CREATE INDEX slots_day ON slots (service_id, day);

CREATE TABLE bookings (
    id            UUID PRIMARY KEY,
    code          TEXT NOT NULL UNIQUE,
    slot_id       UUID NOT NULL REFERENCES slots (id),
    account_id    UUID NOT NULL REFERENCES accounts (id),
    item_code     TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('booked', 'cancelled', 'arrived', 'no_show')),
    cancel_reason TEXT,
    queue_number  TEXT,
    reminders     TEXT NOT NULL,           -- JSON list of scheduled message ids
    created_at    TIMESTAMPTZ NOT NULL,
    cancelled_at  TIMESTAMPTZ,
    arrived_at    TIMESTAMPTZ
);
CREATE UNIQUE INDEX bookings_one_active ON bookings (account_id, item_code) WHERE status = 'booked';
CREATE INDEX bookings_slot ON bookings (slot_id, status);
CREATE INDEX bookings_account ON bookings (account_id, created_at);

CREATE TABLE queue_counters (
    hall_id UUID NOT NULL REFERENCES halls (id),
    day     DATE NOT NULL,
    last    INTEGER NOT NULL,
    PRIMARY KEY (hall_id, day)
);

-- Bookings a person made on a day (China time), taken in the booking's transaction.
CREATE TABLE booking_daily (
    account_id UUID NOT NULL REFERENCES accounts (id),
    day        DATE NOT NULL,
    made       INTEGER NOT NULL,
    PRIMARY KEY (account_id, day)
);

CREATE TABLE booking_blocks (
    account_id UUID PRIMARY KEY REFERENCES accounts (id),
    until      TIMESTAMPTZ NOT NULL,
    reason     TEXT NOT NULL
);
