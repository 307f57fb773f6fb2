//! Giving library files again: the choices for each material of a draft (its kind first), a
//! file given by reference with its provenance, and the files of a submitted application kept.

use super::{LibraryMaterial, LibraryMaterialId, Owner, Source, count_in, insert_in, lock_usage};
use crate::ids::{AccountId, ApplicationFileId, ApplicationId};
use crate::model::{Application, ApplicationFile, Workspace};
use crate::{ApplicationError, Applications, kinds};
use govhall_db::{Tx, exec, sqlx};
use govhall_files::Kind;

impl Applications {
    /// The library files the applicant may give for each material of draft `w`, by slot: those
    /// of the library the application belongs to, valid today, of a file kind the material
    /// takes and not given already; those of the material's kind first.
    pub async fn library_choices(&self, w: &Workspace) -> Result<Vec<Vec<LibraryMaterial>>, ApplicationError> {
        let owner = Owner::of(&w.application);
        if w.slots.is_empty() || self.library_role(w.application.applicant_id, owner).await.is_err() {
            return Ok(vec![Vec::new(); w.slots.len()]);
        }
        let all = self.library_rows(owner).await?;
        let today = govhall_core::clock::china_date(self.db().now());
        Ok(w.slots
            .iter()
            .map(|s| {
                let kind = kinds::of(&s.material.name);
                let mut fit: Vec<LibraryMaterial> = all
                    .iter()
                    .filter(|m| {
                        !m.expired(today)
                            && m.file_kind().is_some_and(|k| s.kinds.contains(&k))
                            && !s.files.iter().any(|f| f.sha256 == m.sha256)
                    })
                    .cloned()
                    .collect();
                fit.sort_by_key(|m| m.kind != kind);
                fit
            })
            .collect())
    }

    /// Gives library file `material` for material `slot` of the applicant's draft: a file row
    /// naming the library's object, with its provenance.
    pub async fn reuse_material(
        &self,
        applicant: AccountId,
        id: ApplicationId,
        slot: usize,
        material: LibraryMaterialId,
    ) -> Result<ApplicationFile, ApplicationError> {
        let w = self.workspace(applicant, id).await?;
        if !w.application.is_draft() {
            return Err(ApplicationError::Submitted);
        }
        let s = w.slots.get(slot).ok_or(ApplicationError::MaterialNotFound)?;
        let (m, _) = self.library_material(applicant, material).await?;
        if m.owner != Owner::of(&w.application) {
            return Err(ApplicationError::InvalidInput(match m.owner {
                Owner::Person(_) => "这是您个人材料库中的材料，不能用于为企业办理的申报".into(),
                Owner::Enterprise(_) => "这是企业材料库中的材料，只能用于为该企业办理的申报".into(),
            }));
        }
        let today = govhall_core::clock::china_date(self.db().now());
        if m.expired(today) {
            return Err(ApplicationError::InvalidInput(format!("“{}”已过有效期，不能再使用", m.title)));
        }
        if !m.file_kind().is_some_and(|k| s.kinds.contains(&k)) {
            return Err(ApplicationError::InvalidInput(format!(
                "“{}”只接受 {} 文件，所选材料不是",
                s.material.name,
                Kind::list(&s.kinds)
            )));
        }
        if s.files.iter().any(|f| f.sha256 == m.sha256) {
            return Err(ApplicationError::InvalidInput(format!("所选材料已在“{}”中", s.material.name)));
        }
        let max = i64::from(self.settings().max_files_per_material);
        let now = self.db().now();
        let file = ApplicationFile {
            id: ApplicationFileId::new(),
            application_id: id,
            material: i32::try_from(slot).unwrap_or(i32::MAX),
            material_name: s.material.name.clone(),
            file_name: m.file_name.clone(),
            content_type: m.content_type.clone(),
            size: m.size,
            sha256: m.sha256.clone(),
            store_key: m.store_key.clone(),
            created_at: now,
            library_material_id: Some(m.id.as_uuid()),
            provenance: Some(m.provenance()),
        };
        let mut tx = self.db().begin().await?;
        // The library's row first: a deletion under way finishes before (and this finds the row
        // gone), or waits until this file row names the object.
        let held = exec!(
            tx,
            sqlx::query("UPDATE library_materials SET last_used_at = $1 WHERE id = $2 AND owner_key = $3")
                .bind(now)
                .bind(m.id.as_uuid())
                .bind(m.owner.key())
        )?;
        if held == 0 {
            tx.rollback().await?;
            return Err(ApplicationError::LibraryNotFound);
        }
        let claimed = exec!(
            tx,
            sqlx::query(
                "UPDATE applications SET updated_at = $1, purge_noticed_at = NULL, revision = revision + 1
                 WHERE id = $2 AND state = 'draft'"
            )
            .bind(now)
            .bind(id.as_uuid())
        )?;
        if claimed == 0 {
            tx.rollback().await?;
            return Err(ApplicationError::Submitted);
        }
        let inserted = exec!(
            tx,
            sqlx::query(
                "INSERT INTO application_files (id, application_id, material, material_name, file_name, content_type,
                    size, sha256, store_key, created_at, library_material_id, provenance)
                 SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12
                 WHERE (SELECT COUNT(*) FROM application_files WHERE application_id = $2 AND material_name = $4) < $13"
            )
            .bind(file.id.as_uuid())
            .bind(id.as_uuid())
            .bind(file.material)
            .bind(&file.material_name)
            .bind(&file.file_name)
            .bind(&file.content_type)
            .bind(file.size)
            .bind(&file.sha256)
            .bind(&file.store_key)
            .bind(now)
            .bind(file.library_material_id)
            .bind(&file.provenance)
            .bind(max)
        )?;
        if inserted == 0 {
            tx.rollback().await?;
            return Err(ApplicationError::TooManyFiles(format!(
                "“{}”最多上传 {max} 个文件，请先删除不需要的文件",
                s.material.name
            )));
        }
        tx.commit().await?;
        Ok(file)
    }

    /// Keeps the files of a submitted application in the library it belongs to, in the
    /// transaction that marks it submitted (files given from the library, and content it has
    /// already, are not kept twice). Counted, but never refused: the quota limits files added
    /// by hand.
    pub(crate) async fn collect_in(
        &self,
        tx: &mut Tx,
        application: &Application,
        files: &[ApplicationFile],
        serial: &str,
    ) -> Result<(), ApplicationError> {
        let owner = Owner::of(application);
        let now = tx.db().now();
        // The usage row first, as every writer of a library takes it: no two wait on each other.
        lock_usage(tx, owner).await?;
        // An agent's own papers (their ID, their photo) stay out of the enterprise's shared library.
        let personal = |name: &str| {
            let kind = kinds::of(name);
            kind == "身份证明" || kind == "证件照" || name.contains("经办人")
        };
        let keep = |f: &&ApplicationFile| {
            f.library_material_id.is_none() && !(matches!(owner, Owner::Enterprise(_)) && personal(&f.material_name))
        };
        for f in files.iter().filter(keep) {
            let material = LibraryMaterial {
                id: LibraryMaterialId::new(),
                owner,
                kind: kinds::of(&f.material_name),
                title: f.material_name.chars().take(60).collect(),
                category: "own".into(),
                source: Source::Application,
                file_name: f.file_name.clone(),
                content_type: f.content_type.clone(),
                size: f.size,
                sha256: f.sha256.clone(),
                store_key: f.store_key.clone(),
                valid_until: None,
                from_serial: Some(serial.to_owned()),
                created_at: now,
                last_used_at: None,
            };
            if insert_in(tx, &material, application.applicant_id).await? {
                count_in(tx, owner, f.size, None).await?;
            }
        }
        Ok(())
    }
}
