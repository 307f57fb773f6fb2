//! The department's waiting cases written into its front database: a page of cases (with their
//! materials' files) in one transaction there, then, here, the page marked delivered and
//! acknowledged with its log entries. A visit cut off between the two writes the page again
//! next time, and the rows, keyed by serial number, are not written twice.

use super::{china_text, failed};
use crate::log::{self, Direction, NewEntry};
use crate::outbox::Outgoing;
use crate::{Caller, Exchange, ExchangeError};
use govhall_db::{Db, exec, sqlx};

const WRITE_CASE: &str = "INSERT INTO govhall_outgoing_cases (serial_number, queue_seq, item_code, item_version,
        item_name, region_code, submitted_at, applicant_kind, applicant_name, applicant_number, applicant_phone, form,
        materials, step, step_name, due_on, moves, written_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
     ON CONFLICT (serial_number) DO NOTHING";

const WRITE_FILE: &str =
    "INSERT INTO govhall_outgoing_files (serial_number, file_id, material, file_name, content_type,
        size, sha256, content)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (serial_number, file_id) DO NOTHING";

/// A material's file, as the hall's store holds it (read when it is written out, one at a
/// time: a page of cases never holds all its files in memory).
struct OutgoingFile {
    id: String,
    material: String,
    name: String,
    content_type: String,
    size: i64,
    sha256: String,
    store_key: String,
}

impl Exchange {
    /// Writes every waiting case of `caller`'s department into `front`; how many were written.
    pub(super) async fn deliver(&self, caller: &Caller, front: &Db) -> Result<u64, ExchangeError> {
        let page = i64::from(self.settings().max_page);
        let mut after = 0;
        let mut delivered = 0;
        loop {
            let rows = self.pending(caller.department, after, page).await?;
            let Some(last) = rows.last() else { break };
            after = last.0;
            let (cases, unreadable) = self.outgoing(caller, &rows).await?;
            let mut files = Vec::with_capacity(cases.len());
            for case in &cases {
                files.push(self.files_of(case).await?);
            }
            self.write(front, &cases, &files).await?;
            let now = self.db().now();
            let mut tx = self.db().begin().await?;
            if !cases.is_empty() {
                // The queue's own integers: nothing to escape.
                let seqs: Vec<String> = cases.iter().map(|c| c.cursor.to_string()).collect();
                let mark = format!(
                    "UPDATE exchange_outbox SET deliveries = deliveries + 1, delivered_at = COALESCE(delivered_at, $1),
                        acked_at = $1
                     WHERE seq IN ({})",
                    seqs.join(", ")
                );
                exec!(tx, sqlx::query(sqlx::AssertSqlSafe(mark.clone())).bind(now))?;
                // Cases moved: a later backlog is a new delay, worth a new alert.
                exec!(
                    tx,
                    sqlx::query("UPDATE exchange_links SET alerted_at = NULL WHERE department_id = $1")
                        .bind(caller.department.as_uuid())
                )?;
            }
            let mut entries = Vec::with_capacity(cases.len() + unreadable.len());
            for (case, files) in cases.iter().zip(&files) {
                let content = serde_json::to_vec(case)?;
                let mut entry = NewEntry::ok(Direction::Out, "case", Some(case.serial_number.clone()), content);
                entry.detail = format!("写入前置库，附 {} 个材料文件", files.len());
                entries.push(entry);
            }
            entries.extend(unreadable);
            let (department, client) = (Some(caller.department), Some(caller.client.id));
            log::write(&mut tx, &caller.actor, department, client, "exchange.front_db.deliver", entries).await?;
            tx.commit().await?;
            delivered += u64::try_from(cases.len()).unwrap_or(0);
            if i64::try_from(rows.len()).unwrap_or(0) < page {
                break;
            }
        }
        Ok(delivered)
    }

    async fn files_of(&self, case: &Outgoing) -> Result<Vec<OutgoingFile>, ExchangeError> {
        let internal = |e: &dyn std::fmt::Display| ExchangeError::Internal(e.to_string());
        let found = self.applications().case_files(case.case_id).await.map_err(|e| internal(&e))?;
        Ok(found
            .into_iter()
            .map(|f| OutgoingFile {
                id: f.id.to_string(),
                material: f.material_name,
                name: f.file_name,
                content_type: f.content_type,
                size: f.size,
                sha256: f.sha256,
                store_key: f.store_key,
            })
            .collect())
    }

    /// Writes a page of cases and their files into `front`, in one transaction.
    async fn write(&self, front: &Db, cases: &[Outgoing], files: &[Vec<OutgoingFile>]) -> Result<(), ExchangeError> {
        if cases.is_empty() {
            return Ok(());
        }
        let written = china_text(front.now());
        let mut tx = front.begin().await.map_err(failed)?;
        for (case, files) in cases.iter().zip(files) {
            let materials = serde_json::to_string(&case.materials)?;
            let moves = serde_json::to_string(&case.moves)?;
            let form = serde_json::to_string(&case.form)?;
            exec!(
                tx,
                sqlx::query(WRITE_CASE)
                    .bind(&case.serial_number)
                    .bind(case.cursor)
                    .bind(&case.item_code)
                    .bind(case.item_version)
                    .bind(&case.item_name)
                    .bind(&case.region_code)
                    .bind(china_text(case.submitted_at))
                    .bind(case.applicant.kind)
                    .bind(&case.applicant.name)
                    .bind(&case.applicant.number)
                    .bind(&case.applicant.phone)
                    .bind(&form)
                    .bind(&materials)
                    .bind(&case.step)
                    .bind(&case.step_name)
                    .bind(case.due_on.map(|d| d.format("%Y-%m-%d").to_string()))
                    .bind(&moves)
                    .bind(&written)
            )
            .map_err(failed)?;
            for f in files {
                let bytes = self
                    .applications()
                    .files()
                    .read(&f.store_key)
                    .await
                    .map_err(|e| ExchangeError::Internal(e.to_string()))?;
                exec!(
                    tx,
                    sqlx::query(WRITE_FILE)
                        .bind(&case.serial_number)
                        .bind(&f.id)
                        .bind(&f.material)
                        .bind(&f.name)
                        .bind(&f.content_type)
                        .bind(f.size)
                        .bind(&f.sha256)
                        .bind(&bytes)
                )
                .map_err(failed)?;
            }
        }
        tx.commit().await.map_err(failed)
    }
}
