//! Files for each material slot: streamed into the store (judged by content, limited in size,
//! hashed), described in the database only once kept, removable and replaceable while the
//! application is a draft, and read back only by their owner or by staff who may see the case.

use crate::ids::{AccountId, ApplicationFileId, ApplicationId, CaseId};
use crate::model::{ApplicationFile, ApplicationFileRow, FILE_COLUMNS};
use crate::{ApplicationError, Applications};
use bytes::Bytes;
use futures::Stream;
use govhall_db::{exec, run, sqlx, sqlx::AssertSqlSafe};
use govhall_files::names;

impl Applications {
    /// Adds a file to material slot `material` of the applicant's draft, replacing `replace`
    /// (a file of the same slot) when given.
    pub async fn add_file<S, E>(
        &self,
        applicant: AccountId,
        id: ApplicationId,
        material: usize,
        file_name: &str,
        replace: Option<ApplicationFileId>,
        body: S,
    ) -> Result<ApplicationFile, ApplicationError>
    where
        S: Stream<Item = Result<Bytes, E>>,
        E: std::fmt::Display,
    {
        let workspace = self.workspace(applicant, id).await?;
        if !workspace.application.is_draft() {
            return Err(ApplicationError::Submitted);
        }
        let slot = workspace.slots.get(material).ok_or(ApplicationError::MaterialNotFound)?;
        if let Some(old) = replace
            && !slot.files.iter().any(|f| f.id == old)
        {
            return Err(ApplicationError::NotFound);
        }
        let max = i64::from(self.settings().max_files_per_material);
        let room = if replace.is_some() { max + 1 } else { max };
        if slot.files.len() as i64 >= room {
            return Err(ApplicationError::TooManyFiles(format!(
                "“{}”最多上传 {max} 个文件，请先删除不需要的文件",
                slot.material.name
            )));
        }
        // Noted before the first byte: a crash before the file is recorded leaves a row for the
        // daily sweep, not an object nobody knows.
        let file_id = ApplicationFileId::new();
        let key = govhall_files::FileStore::key_for(file_id.as_uuid());
        self.note_intent(&key).await?;
        let stored =
            match self.files().put_as(file_id.as_uuid(), body, &slot.kinds, self.settings().max_file_bytes).await {
                Ok(stored) => stored,
                Err(e) => {
                    self.settle_intent(&key).await;
                    return Err(e.into());
                }
            };
        let file = ApplicationFile {
            id: file_id,
            application_id: id,
            material: i32::try_from(material).unwrap_or(i32::MAX),
            material_name: slot.material.name.clone(),
            file_name: names::clean(file_name, stored.kind),
            content_type: stored.kind.content_type().to_owned(),
            size: i64::try_from(stored.size).unwrap_or(i64::MAX),
            sha256: stored.sha256.clone(),
            store_key: stored.key.clone(),
            created_at: self.db().now(),
            library_material_id: None,
            provenance: None,
        };
        let kept = self.record_file(&file, replace, room).await;
        match kept {
            Ok(true) => {}
            Ok(false) => {
                self.discard_object(&stored.key).await;
                return Err(ApplicationError::TooManyFiles(format!(
                    "“{}”最多上传 {max} 个文件（或申报已提交），请刷新后再试",
                    slot.material.name
                )));
            }
            Err(e) => {
                self.discard_object(&stored.key).await;
                return Err(e);
            }
        }
        if let Some(old) = replace.and_then(|o| slot.files.iter().find(|f| f.id == o)) {
            self.discard_object(&old.store_key).await;
        }
        Ok(file)
    }

    /// Records a kept file (and drops the one it replaces) when the draft is still a draft and
    /// the slot has room; `false` otherwise.
    async fn record_file(
        &self,
        f: &ApplicationFile,
        replace: Option<ApplicationFileId>,
        room: i64,
    ) -> Result<bool, ApplicationError> {
        let mut tx = self.db().begin().await?;
        // The draft's row first: it serialises uploads to one draft (the count below) and keeps
        // out a submission that started meanwhile.
        let claimed = exec!(
            tx,
            sqlx::query("UPDATE applications SET updated_at = $1, purge_noticed_at = NULL, revision = revision + 1 WHERE id = $2 AND state = 'draft'")
                .bind(f.created_at)
                .bind(f.application_id.as_uuid())
        )?;
        if claimed == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        let inserted = exec!(
            tx,
            sqlx::query(
                "INSERT INTO application_files (id, application_id, material, material_name, file_name, content_type,
                    size, sha256, store_key, created_at)
                 SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10
                 WHERE (SELECT COUNT(*) FROM application_files WHERE application_id = $2 AND material_name = $4) < $11"
            )
            .bind(f.id.as_uuid())
            .bind(f.application_id.as_uuid())
            .bind(f.material)
            .bind(&f.material_name)
            .bind(&f.file_name)
            .bind(&f.content_type)
            .bind(f.size)
            .bind(&f.sha256)
            .bind(&f.store_key)
            .bind(f.created_at)
            .bind(room)
        )?;
        if inserted == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        if let Some(old) = replace {
            exec!(
                tx,
                sqlx::query("DELETE FROM application_files WHERE id = $1 AND application_id = $2")
                    .bind(old.as_uuid())
                    .bind(f.application_id.as_uuid())
            )?;
        }
        exec!(tx, sqlx::query("DELETE FROM upload_intents WHERE store_key = $1").bind(&f.store_key))?;
        tx.commit().await?;
        Ok(true)
    }

    /// Deletes a file from the applicant's draft.
    pub async fn delete_file(
        &self,
        applicant: AccountId,
        id: ApplicationId,
        file: ApplicationFileId,
    ) -> Result<(), ApplicationError> {
        let application = self.get(applicant, id).await?;
        if !application.is_draft() {
            return Err(ApplicationError::Submitted);
        }
        let found = self.file_rows(id).await?.into_iter().find(|f| f.id == file).ok_or(ApplicationError::NotFound)?;
        let mut tx = self.db().begin().await?;
        // The row first: a submission that started meanwhile keeps its files.
        let claimed = exec!(
            tx,
            sqlx::query(
                "UPDATE applications SET updated_at = $1, purge_noticed_at = NULL, revision = revision + 1
                 WHERE id = $2 AND state = 'draft'"
            )
            .bind(self.db().now())
            .bind(id.as_uuid())
        )?;
        if claimed == 0 {
            tx.rollback().await?;
            return Err(ApplicationError::Submitted);
        }
        exec!(
            tx,
            sqlx::query("DELETE FROM application_files WHERE id = $1 AND application_id = $2")
                .bind(file.as_uuid())
                .bind(id.as_uuid())
        )?;
        tx.commit().await?;
        self.discard_object(&found.store_key).await;
        Ok(())
    }

    pub(crate) async fn note_intent(&self, key: &str) -> Result<(), ApplicationError> {
        let mut conn = self.db().conn().await?;
        exec!(
            conn,
            sqlx::query("INSERT INTO upload_intents (store_key, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(key)
                .bind(self.db().now())
        )?;
        Ok(())
    }

    /// Drops the note of `key` (best effort: a note left behind only costs the sweep a look).
    pub(crate) async fn settle_intent(&self, key: &str) {
        let settled = async {
            let mut conn = self.db().conn().await?;
            exec!(conn, sqlx::query("DELETE FROM upload_intents WHERE store_key = $1").bind(key))?;
            Ok::<(), ApplicationError>(())
        };
        if let Err(e) = settled.await {
            tracing::warn!(error = %e, "an upload note stayed; the daily sweep takes it");
        }
    }

    /// Removes an object no row describes any more: noted first, so that a store that fails
    /// now is tried again by the daily sweep. An object another row still names (a library file
    /// given to drafts, a submitted file kept in the library) stays.
    pub(crate) async fn discard_object(&self, key: &str) {
        if self.note_intent(key).await.is_err() {
            tracing::warn!("an object to remove could not be noted");
        }
        match self.object_named(key).await {
            Ok(false) => {}
            Ok(true) => return self.settle_intent(key).await,
            Err(e) => return tracing::warn!(error = %e, "a file's use could not be read; the daily sweep looks again"),
        }
        match self.files().delete(key).await {
            Ok(()) => self.settle_intent(key).await,
            Err(e) => tracing::warn!(error = %e, "a file stayed in the store; the daily sweep tries again"),
        }
    }

    /// Whether a file row or a library row names the object at `key`.
    async fn object_named(&self, key: &str) -> Result<bool, ApplicationError> {
        let mut conn = self.db().conn().await?;
        let named: i64 = run!(conn, |c| sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM application_files WHERE store_key = $1)
                  + (SELECT COUNT(*) FROM library_materials WHERE store_key = $1)"
        )
        .bind(key)
        .fetch_one(&mut *c)
        .await)?;
        Ok(named > 0)
    }

    /// Removes the objects of notes older than an hour that no file row describes (uploads cut
    /// off by a crash, deletions the store refused), and their notes.
    pub async fn sweep_objects(&self, now: chrono::DateTime<chrono::Utc>) -> Result<usize, ApplicationError> {
        let mut conn = self.db().conn().await?;
        let keys: Vec<String> = run!(conn, |c| sqlx::query_scalar(
            "SELECT store_key FROM upload_intents i WHERE created_at < $1
               AND NOT EXISTS (SELECT 1 FROM application_files f WHERE f.store_key = i.store_key)
               AND NOT EXISTS (SELECT 1 FROM library_materials l WHERE l.store_key = i.store_key)
             ORDER BY created_at LIMIT 10000"
        )
        .bind(now - chrono::Duration::hours(1))
        .fetch_all(&mut *c)
        .await)?;
        drop(conn);
        let mut removed = 0;
        for key in keys {
            if self.files().delete(&key).await.is_ok() {
                self.settle_intent(&key).await;
                removed += 1;
            }
        }
        // Notes of objects that were recorded after all.
        let mut conn = self.db().conn().await?;
        exec!(
            conn,
            sqlx::query(
                "DELETE FROM upload_intents WHERE created_at < $1
                   AND (EXISTS (SELECT 1 FROM application_files f WHERE f.store_key = upload_intents.store_key)
                     OR EXISTS (SELECT 1 FROM library_materials l WHERE l.store_key = upload_intents.store_key))"
            )
            .bind(now - chrono::Duration::hours(1))
        )?;
        Ok(removed)
    }

    /// A file of the applicant's own application.
    pub async fn own_file(
        &self,
        applicant: AccountId,
        id: ApplicationId,
        file: ApplicationFileId,
    ) -> Result<ApplicationFile, ApplicationError> {
        self.get(applicant, id).await?;
        self.file_rows(id).await?.into_iter().find(|f| f.id == file).ok_or(ApplicationError::NotFound)
    }

    /// A file of the application that became case `case` (the caller has checked that the
    /// viewer may see the case).
    pub async fn case_file(&self, case: CaseId, file: ApplicationFileId) -> Result<ApplicationFile, ApplicationError> {
        let sql = format!(
            "SELECT {} FROM application_files f JOIN applications a ON a.id = f.application_id
             WHERE a.case_id = $1 AND f.id = $2",
            FILE_COLUMNS.split(", ").map(|c| format!("f.{c}")).collect::<Vec<_>>().join(", ")
        );
        let mut conn = self.db().conn().await?;
        let row: Option<ApplicationFileRow> = run!(conn, |c| sqlx::query_as(AssertSqlSafe(sql.clone()))
            .bind(case.as_uuid())
            .bind(file.as_uuid())
            .fetch_optional(&mut *c)
            .await)?;
        row.map(ApplicationFile::from).ok_or(ApplicationError::NotFound)
    }

    /// The files of the application that became case `case`.
    pub async fn case_files(&self, case: CaseId) -> Result<Vec<ApplicationFile>, ApplicationError> {
        match self.of_case(case).await? {
            Some(a) => self.file_rows(a.id).await,
            None => Ok(Vec::new()),
        }
    }
}
