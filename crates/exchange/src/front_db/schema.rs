//! The front database's tables (docs/exchange.md documents them for the departments'
//! developers). The hall creates them when they are missing and never changes or drops what is
//! there. Times are text in RFC 3339 with the China offset (`2026-12-07T09:30:00+08:00`),
//! lists and objects are JSON text, so that a department's system reads them the same way on
//! PostgreSQL and SQLite.

use crate::ExchangeError;
use govhall_db::{Backend, Db, exec, sqlx};

const TABLES: &str = "
CREATE TABLE IF NOT EXISTS govhall_outgoing_cases (
    serial_number    TEXT PRIMARY KEY,
    queue_seq        BIGINT NOT NULL,
    item_code        TEXT NOT NULL,
    item_version     INTEGER NOT NULL,
    item_name        TEXT NOT NULL,
    region_code      TEXT NOT NULL,
    submitted_at     TEXT NOT NULL,
    applicant_kind   TEXT NOT NULL,
    applicant_name   TEXT NOT NULL,
    applicant_number TEXT NOT NULL,
    applicant_phone  TEXT NOT NULL,
    form             TEXT NOT NULL,
    materials        TEXT NOT NULL,
    step             TEXT NOT NULL,
    step_name        TEXT NOT NULL,
    due_on           TEXT,
    moves            TEXT NOT NULL,
    written_at       TEXT NOT NULL,
    taken_at         TEXT
);
CREATE TABLE IF NOT EXISTS govhall_outgoing_files (
    serial_number TEXT NOT NULL,
    file_id       TEXT NOT NULL,
    material      TEXT NOT NULL,
    file_name     TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    size          BIGINT NOT NULL,
    sha256        TEXT NOT NULL,
    content       {blob} NOT NULL,
    PRIMARY KEY (serial_number, file_id)
);
CREATE TABLE IF NOT EXISTS govhall_incoming_events (
    id              {serial},
    idempotency_key TEXT,
    serial_number   TEXT,
    action          TEXT,
    note            TEXT,
    handler         TEXT,
    occurred_at     TEXT,
    requested       TEXT,
    licence         TEXT,
    status          TEXT NOT NULL DEFAULT 'new',
    attempts        INTEGER NOT NULL DEFAULT 0,
    error_code      TEXT,
    error           TEXT,
    step            TEXT,
    licence_number  TEXT,
    processed_at    TEXT
);
CREATE INDEX IF NOT EXISTS govhall_incoming_events_status ON govhall_incoming_events (status, id);
CREATE TABLE IF NOT EXISTS govhall_incoming_files (
    id        {serial},
    event_key TEXT NOT NULL,
    file_name TEXT NOT NULL,
    is_result INTEGER NOT NULL DEFAULT 1,
    content   {blob} NOT NULL
);
CREATE INDEX IF NOT EXISTS govhall_incoming_files_event ON govhall_incoming_files (event_key, id);
";

/// The statements that create the tables on `backend`.
pub(crate) fn statements(backend: Backend) -> Vec<String> {
    let (serial, blob) = match backend {
        Backend::Sqlite => ("INTEGER PRIMARY KEY AUTOINCREMENT", "BLOB"),
        Backend::Postgres => ("BIGSERIAL PRIMARY KEY", "BYTEA"),
    };
    TABLES
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.replace("{serial}", serial).replace("{blob}", blob))
        .collect()
}

/// Creates the tables that are missing.
pub(crate) async fn ensure(front: &Db) -> Result<(), ExchangeError> {
    let mut tx = front.begin().await.map_err(super::failed)?;
    for statement in statements(front.backend()) {
        exec!(tx, sqlx::query(sqlx::AssertSqlSafe(statement.clone()))).map_err(super::failed)?;
    }
    tx.commit().await.map_err(super::failed)
}
