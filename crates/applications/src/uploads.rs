//! Files for each material slot: streamed into the store (judged by content, limited in size,
//! hashed), described in the database only once kept, removable and replaceable while the
//! application is a draft, and read back only by their owner or by staff who may see the case.

use crate::model::{ApplicationFile, FILE_COLUMNS};
use crate::{ApplicationError, Applications};
use bytes::Bytes;
use futures::Stream;
use govhall_db::{exec, run, sqlx, sqlx::AssertSqlSafe};
use govhall_files::names;
use govhall_identity::AccountId;
use uuid::Uuid;

impl Applications {
    /// Adds a file to material slot `material` of the applicant's draft, replacing `replace`
    /// (a file of the same slot) when given.
    pub async fn add_file<S, E>(
        &self,
        applicant: AccountId,
        id: Uuid,
        material: usize,
        file_name: &str,
        replace: Option<Uuid>,
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
        let stored = self.files().put(body, &slot.kinds, self.settings().max_file_bytes).await?;
        let file = ApplicationFile {
            id: Uuid::now_v7(),
            application_id: id,
            material: i32::try_from(material).unwrap_or(i32::MAX),
            material_name: slot.material.name.clone(),
            file_name: names::clean(file_name, stored.kind),
            content_type: stored.kind.content_type().to_owned(),
            size: i64::try_from(stored.size).unwrap_or(i64::MAX),
            sha256: stored.sha256.clone(),
            store_key: stored.key.clone(),
            created_at: self.db().now(),
        };
        let kept = self.record_file(&file, replace, room).await;
        match kept {
            Ok(true) => {}
            Ok(false) => {
                let _ = self.files().delete(&stored.key).await;
                return Err(ApplicationError::TooManyFiles(format!(
                    "“{}”最多上传 {max} 个文件（或申报已提交），请刷新后再试",
                    slot.material.name
                )));
            }
            Err(e) => {
                let _ = self.files().delete(&stored.key).await;
                return Err(e);
            }
        }
        if let Some(old) = replace.and_then(|o| slot.files.iter().find(|f| f.id == o)) {
            let _ = self.files().delete(&old.store_key).await;
        }
        Ok(file)
    }

    /// Records a kept file (and drops the one it replaces) when the draft is still a draft and
    /// the slot has room; `false` otherwise.
    async fn record_file(
        &self,
        f: &ApplicationFile,
        replace: Option<Uuid>,
        room: i64,
    ) -> Result<bool, ApplicationError> {
        let mut tx = self.db().begin().await?;
        // The draft's row first: it serialises uploads to one draft (the count below) and keeps
        // out a submission that started meanwhile.
        let claimed = exec!(
            tx,
            sqlx::query("UPDATE applications SET updated_at = $1, purge_noticed_at = NULL, revision = revision + 1 WHERE id = $2 AND state = 'draft'")
                .bind(f.created_at)
                .bind(f.application_id)
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
            .bind(f.id)
            .bind(f.application_id)
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
                    .bind(old)
                    .bind(f.application_id)
            )?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Deletes a file from the applicant's draft.
    pub async fn delete_file(&self, applicant: AccountId, id: Uuid, file: Uuid) -> Result<(), ApplicationError> {
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
            .bind(id)
        )?;
        if claimed == 0 {
            tx.rollback().await?;
            return Err(ApplicationError::Submitted);
        }
        exec!(
            tx,
            sqlx::query("DELETE FROM application_files WHERE id = $1 AND application_id = $2").bind(file).bind(id)
        )?;
        tx.commit().await?;
        if let Err(e) = self.files().delete(&found.store_key).await {
            tracing::warn!(error = %e, "a deleted file stayed in the store");
        }
        Ok(())
    }

    /// A file of the applicant's own application.
    pub async fn own_file(
        &self,
        applicant: AccountId,
        id: Uuid,
        file: Uuid,
    ) -> Result<ApplicationFile, ApplicationError> {
        self.get(applicant, id).await?;
        self.file_rows(id).await?.into_iter().find(|f| f.id == file).ok_or(ApplicationError::NotFound)
    }

    /// A file of the application that became case `case` (the caller has checked that the
    /// viewer may see the case).
    pub async fn case_file(&self, case: Uuid, file: Uuid) -> Result<ApplicationFile, ApplicationError> {
        let sql = format!(
            "SELECT {} FROM application_files f JOIN applications a ON a.id = f.application_id
             WHERE a.case_id = $1 AND f.id = $2",
            FILE_COLUMNS.split(", ").map(|c| format!("f.{c}")).collect::<Vec<_>>().join(", ")
        );
        let mut conn = self.db().conn().await?;
        let row: Option<ApplicationFile> = run!(conn, |c| sqlx::query_as(AssertSqlSafe(sql.clone()))
            .bind(case)
            .bind(file)
            .fetch_optional(&mut *c)
            .await)?;
        row.ok_or(ApplicationError::NotFound)
    }

    /// The files of the application that became case `case`.
    pub async fn case_files(&self, case: Uuid) -> Result<Vec<ApplicationFile>, ApplicationError> {
        match self.of_case(case).await? {
            Some(a) => self.file_rows(a.id).await,
            None => Ok(Vec::new()),
        }
    }
}
