//! Managing a library: adding a file by hand (counted against the quota), describing one,
//! deleting one (refused while a case in progress was given it).

use super::{Description, LibraryMaterial, LibraryMaterialId, Owner, Role, Source, count_in, insert_in, lock_usage};
use super::{parse_category, quota_error, text};
use crate::ids::AccountId;
use crate::{ApplicationError, Applications, kinds};
use bytes::Bytes;
use futures::Stream;
use govhall_audit::{self as audit, Actor, Event};
use govhall_db::{exec, run, sqlx};
use govhall_files::{Kind, names};

impl Applications {
    /// Adds a file to `owner`'s library (its managers only), counted against the quota in the
    /// transaction that records it, so that uploads at once cannot pass it together.
    pub async fn add_to_library<S, E>(
        &self,
        actor: &Actor,
        viewer: AccountId,
        owner: Owner,
        description: Description,
        file_name: &str,
        body: S,
    ) -> Result<LibraryMaterial, ApplicationError>
    where
        S: Stream<Item = Result<Bytes, E>>,
        E: std::fmt::Display,
    {
        if self.library_role(viewer, owner).await? != Role::Manage {
            return Err(ApplicationError::Forbidden("只有企业管理员可以向企业材料库添加材料".into()));
        }
        let category = parse_category(&description.category)?;
        let quota = self.settings().library_quota_bytes;
        let used = self.library_usage(owner).await?;
        if u64::try_from(used).unwrap_or(0) >= quota {
            return Err(quota_error(quota));
        }
        let id = LibraryMaterialId::new();
        let key = govhall_files::FileStore::key_for(id.as_uuid());
        self.note_intent(&key).await?;
        let stored = match self.files().put_as(id.as_uuid(), body, &Kind::ALL, self.settings().max_file_bytes).await {
            Ok(stored) => stored,
            Err(e) => {
                self.settle_intent(&key).await;
                return Err(e.into());
            }
        };
        let file_name = names::clean(file_name, stored.kind);
        let title = if description.title.trim().is_empty() {
            file_name.rsplit_once('.').map_or(file_name.as_str(), |(stem, _)| stem).chars().take(60).collect()
        } else {
            text("材料名称", &description.title, 60)?
        };
        let now = self.db().now();
        let material = LibraryMaterial {
            id,
            owner,
            kind: kinds::of(&title),
            title,
            category,
            source: Source::Added,
            file_name,
            content_type: stored.kind.content_type().to_owned(),
            size: i64::try_from(stored.size).unwrap_or(i64::MAX),
            sha256: stored.sha256.clone(),
            store_key: stored.key.clone(),
            valid_until: description.valid_until,
            from_serial: None,
            created_at: now,
            last_used_at: None,
        };
        let kept = async {
            let mut tx = self.db().begin().await?;
            if !count_in(&mut tx, owner, material.size, Some(quota)).await? {
                return Err(quota_error(quota));
            }
            if !insert_in(&mut tx, &material, viewer).await? {
                return Err(ApplicationError::InvalidInput("材料库中已有内容相同的文件".into()));
            }
            audit::record(
                &mut tx,
                actor,
                Event::success("library.add", "library_material", id).detail(material.title.clone()),
            )
            .await?;
            tx.commit().await?;
            Ok::<(), ApplicationError>(())
        }
        .await;
        if let Err(e) = kept {
            self.discard_object(&stored.key).await;
            return Err(e);
        }
        self.settle_intent(&key).await;
        Ok(material)
    }

    /// Renames, recategorises or dates a file of a library the viewer manages.
    pub async fn describe_material(
        &self,
        actor: &Actor,
        viewer: AccountId,
        id: LibraryMaterialId,
        description: Description,
    ) -> Result<LibraryMaterial, ApplicationError> {
        let (mut material, role) = self.library_material(viewer, id).await?;
        if role != Role::Manage {
            return Err(ApplicationError::Forbidden("只有企业管理员可以修改企业材料库".into()));
        }
        material.title = text("材料名称", &description.title, 60)?;
        material.category = parse_category(&description.category)?;
        material.valid_until = description.valid_until;
        let mut tx = self.db().begin().await?;
        let n = exec!(
            tx,
            sqlx::query(
                "UPDATE library_materials SET title = $1, category = $2, valid_until = $3, updated_at = $4 WHERE id = $5"
            )
            .bind(&material.title)
            .bind(&material.category)
            .bind(material.valid_until)
            .bind(self.db().now())
            .bind(id.as_uuid())
        )?;
        if n == 0 {
            return Err(ApplicationError::LibraryNotFound);
        }
        audit::record(
            &mut tx,
            actor,
            Event::success("library.describe", "library_material", id).detail(material.title.clone()),
        )
        .await?;
        tx.commit().await?;
        Ok(material)
    }

    /// Deletes a file from a library the viewer manages; refused while a case in progress was
    /// given it. Applications given it keep it.
    pub async fn delete_material(
        &self,
        actor: &Actor,
        viewer: AccountId,
        id: LibraryMaterialId,
    ) -> Result<(), ApplicationError> {
        let (material, role) = self.library_material(viewer, id).await?;
        if role != Role::Manage {
            return Err(ApplicationError::Forbidden("只有企业管理员可以删除企业材料库中的材料".into()));
        }
        let mut tx = self.db().begin().await?;
        lock_usage(&mut tx, material.owner).await?;
        // Then the row: it waits for a draft being given it (which locks it) and stops the next.
        let n = exec!(tx, sqlx::query("DELETE FROM library_materials WHERE id = $1").bind(id.as_uuid()))?;
        if n == 0 {
            return Err(ApplicationError::LibraryNotFound);
        }
        let open: Option<String> = run!(tx, |c| sqlx::query_scalar(
            "SELECT a.serial_number FROM application_files f
             JOIN applications a ON a.id = f.application_id
             JOIN cases c ON c.id = a.case_id
             WHERE f.store_key = $1 AND c.closed_at IS NULL
             ORDER BY a.submitted_at LIMIT 1"
        )
        .bind(&material.store_key)
        .fetch_optional(&mut *c)
        .await)?;
        if let Some(serial) = open {
            tx.rollback().await?;
            return Err(ApplicationError::MaterialInUse(format!(
                "“{}”正用于办理中的办件 {serial}，办结后才能删除",
                material.title
            )));
        }
        count_in(&mut tx, material.owner, -material.size, None).await?;
        audit::record(
            &mut tx,
            actor,
            Event::success("library.delete", "library_material", id).detail(material.title.clone()),
        )
        .await?;
        tx.commit().await?;
        self.discard_object(&material.store_key).await;
        Ok(())
    }
}
