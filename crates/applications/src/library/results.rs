//! Result documents (办理结果文书) kept in the library of whom the case was for: when staff file
//! one with a case, the case engine announces it ([`RESULT_FILED`]) in the same transaction, and
//! this job keeps a copy in the file store as a library file (source 政府结果, category 政府结果,
//! its kind from the item's name), counted but never refused by the quota. At least once: a second
//! run finds the same content and keeps nothing more.

use super::{LibraryMaterial, LibraryMaterialId, Owner, Source, count_in, insert_in, lock_usage};
use crate::{ApplicationError, Applications, kinds};
use bytes::Bytes;
use govhall_cases::files::{RESULT_FILED, ResultFiled};
use govhall_db::jobs::{JobContext, JobError, JobRegistry};
use govhall_files::Kind;

pub(crate) fn register(applications: Applications, registry: &mut JobRegistry) {
    registry.register(RESULT_FILED, move |ctx: JobContext| {
        let applications = applications.clone();
        async move {
            let filed: ResultFiled = ctx.payload()?;
            applications.keep_result(&filed).await.map_err(JobError::retry)
        }
    });
}

impl Applications {
    /// Keeps a result document of a case in its owner's library (nothing when it is there).
    pub async fn keep_result(&self, filed: &ResultFiled) -> Result<(), ApplicationError> {
        let (case, _) = self.cases().for_reckoning(filed.case_id).await?;
        // A person without an account has no library (yet): the case keeps the document.
        let Some(applicant) = case.applicant_id else { return Ok(()) };
        let (file_name, content_type, bytes) = self.cases().result_document(filed.case_id, filed.file_id).await?;
        let owner = match case.enterprise_id {
            Some(e) => Owner::Enterprise(e),
            None => Owner::Person(applicant),
        };
        let id = LibraryMaterialId::new();
        let key = govhall_files::FileStore::key_for(id.as_uuid());
        self.note_intent(&key).await?;
        let body = futures::stream::once(async move { Ok::<_, std::io::Error>(Bytes::from(bytes)) });
        let limit = u64::try_from(self.cases().settings().max_file_bytes).unwrap_or(u64::MAX);
        let stored = match self.files().put_as(id.as_uuid(), body, &Kind::ALL, limit).await {
            Ok(stored) => stored,
            Err(e) => {
                // The case keeps the document; a file the store will not take stays out of the
                // library rather than being tried for ever.
                self.settle_intent(&key).await;
                tracing::warn!(error = %e, case = %case.serial_number, "a result document was not kept in the library");
                return Ok(());
            }
        };
        let title: String = format!("办理结果：{}", case.item_name).chars().take(60).collect();
        let material = LibraryMaterial {
            id,
            owner,
            kind: kinds::of(&case.item_name),
            title,
            category: "result".into(),
            source: Source::Result,
            file_name: govhall_files::names::clean(&file_name, stored.kind),
            content_type: if content_type.is_empty() { stored.kind.content_type().into() } else { content_type },
            size: i64::try_from(stored.size).unwrap_or(i64::MAX),
            sha256: stored.sha256.clone(),
            store_key: stored.key.clone(),
            valid_until: None,
            from_serial: Some(case.serial_number.clone()),
            created_at: self.db().now(),
            last_used_at: None,
        };
        let mut tx = self.db().begin().await?;
        lock_usage(&mut tx, owner).await?;
        let kept = insert_in(&mut tx, &material, applicant).await?;
        if kept {
            count_in(&mut tx, owner, material.size, None).await?;
        }
        tx.commit().await?;
        if kept {
            self.settle_intent(&key).await;
        } else {
            self.discard_object(&key).await;
        }
        Ok(())
    }
}
