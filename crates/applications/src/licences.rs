//! Materials given as electronic licences (可免交，自动调取, design section 2.3.3): a material the
//! guide marks as available from the licence registry can be given by choosing one of the
//! applicant's licences instead of uploading a copy — a licence whose type's name the
//! material's name contains (营业执照 for “营业执照副本”), valid today, and held by whom the
//! application is for (the person, or the enterprise it is submitted for). The case records
//! the licence's identifier, which staff verify like anyone. A licence revoked or expired
//! after it was chosen no longer counts, and the draft says so.

use crate::ids::{AccountId, ApplicationId};
use crate::model::{Application, Workspace};
use crate::{ApplicationError, Applications};
use govhall_catalog::model::Material;
use govhall_db::{exec, run, sqlx};
use govhall_licences::{Licence, LicenceId, Status};
use uuid::Uuid;

/// A licence given for a material.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UsedLicence {
    /// The licence.
    pub licence_id: LicenceId,
    /// Its identifier (证照标识).
    pub identifier: String,
    /// As the case records it: 电子证照 营业执照 2026000001（证照标识 …）.
    pub label: String,
    /// Why it no longer counts (revoked, expired …), if it does not.
    pub problem: Option<String>,
}

/// Whether `licence` can be given for `material` of `application` on `today`.
pub fn fits(application: &Application, material: &Material, licence: &Licence, today: chrono::NaiveDate) -> bool {
    material.from_license
        && !licence.type_name.is_empty()
        && material.name.contains(&licence.type_name)
        && licence.status_on(today) == Status::Valid
        && match application.enterprise_id {
            Some(e) => licence.enterprise_id == Some(e.as_uuid()),
            None => licence.enterprise_id.is_none(),
        }
}

fn label(l: &Licence) -> String {
    format!("电子证照 {} {}（证照标识 {}）", l.type_name, l.number, l.identifier)
}

impl Applications {
    /// The licences given for the materials of application `id`: material name → licence.
    pub(crate) async fn used_licences(
        &self,
        application: &Application,
        materials: &[Material],
    ) -> Result<Vec<(String, UsedLicence)>, ApplicationError> {
        let mut conn = self.db().conn().await?;
        let rows: Vec<(String, Uuid)> = run!(conn, |c| sqlx::query_as(
            "SELECT material_name, licence_id FROM application_licences WHERE application_id = $1"
        )
        .bind(application.id.as_uuid())
        .fetch_all(&mut *c)
        .await)?;
        drop(conn);
        let today = govhall_core::clock::china_date(self.db().now());
        let mut used = Vec::new();
        for (name, id) in rows {
            let id = LicenceId::from_uuid(id);
            let found = self.licences().mine_by_id(application.applicant_id, id).await;
            let material = materials.iter().find(|m| m.name == name);
            let used_one = match (found, material) {
                (Ok(l), Some(m)) => UsedLicence {
                    licence_id: id,
                    identifier: l.identifier.clone(),
                    label: label(&l),
                    problem: (!fits(application, m, &l, today))
                        .then(|| format!("所选电子证照{}，不能再用作此项材料", l.status_on(today).label())),
                },
                _ => UsedLicence {
                    licence_id: id,
                    identifier: String::new(),
                    label: "电子证照".into(),
                    problem: Some("所选电子证照已不可用".into()),
                },
            };
            used.push((name, used_one));
        }
        Ok(used)
    }

    /// The licences the applicant may give for each material of draft `w`, by slot (empty for a
    /// material that takes none).
    pub async fn licence_choices(&self, w: &Workspace) -> Result<Vec<Vec<Licence>>, ApplicationError> {
        if !w.slots.iter().any(|s| s.material.from_license) {
            return Ok(vec![Vec::new(); w.slots.len()]);
        }
        let today = govhall_core::clock::china_date(self.db().now());
        let mine = self
            .licences()
            .mine(w.application.applicant_id)
            .await
            .map_err(|e| ApplicationError::Internal(e.to_string()))?;
        Ok(w.slots
            .iter()
            .map(|s| mine.iter().filter(|l| fits(&w.application, &s.material, l, today)).cloned().collect())
            .collect())
    }

    /// Gives licence `licence` for material `slot` of the applicant's draft (in place of
    /// another licence given before; uploaded files stay).
    pub async fn use_licence(
        &self,
        applicant: AccountId,
        id: ApplicationId,
        slot: usize,
        licence: LicenceId,
    ) -> Result<(), ApplicationError> {
        let w = self.workspace(applicant, id).await?;
        if !w.application.is_draft() {
            return Err(ApplicationError::Submitted);
        }
        let s = w.slots.get(slot).ok_or(ApplicationError::MaterialNotFound)?;
        if !s.material.from_license {
            return Err(ApplicationError::InvalidInput(format!("“{}”不能以电子证照代替，请上传材料", s.material.name)));
        }
        let l = self
            .licences()
            .mine_by_id(applicant, licence)
            .await
            .map_err(|_| ApplicationError::InvalidInput("该电子证照不存在或不属于您".into()))?;
        let today = govhall_core::clock::china_date(self.db().now());
        if !fits(&w.application, &s.material, &l, today) {
            let why = match l.status_on(today) {
                Status::Valid => format!("“{}”不能用作“{}”", l.type_name, s.material.name),
                other => format!("该电子证照{}，不能使用", other.label()),
            };
            return Err(ApplicationError::InvalidInput(why));
        }
        let mut tx = self.db().begin().await?;
        let now = self.db().now();
        if !self.touch(&mut tx, id, now).await? {
            return Err(ApplicationError::Submitted);
        }
        exec!(
            tx,
            sqlx::query(
                "INSERT INTO application_licences (application_id, material_name, licence_id, created_at)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (application_id, material_name) DO UPDATE SET licence_id = excluded.licence_id,
                    created_at = excluded.created_at"
            )
            .bind(id.as_uuid())
            .bind(&s.material.name)
            .bind(licence.as_uuid())
            .bind(now)
        )?;
        tx.commit().await?;
        Ok(())
    }

    /// Takes back the licence given for material `slot` of the applicant's draft.
    pub async fn drop_licence(
        &self,
        applicant: AccountId,
        id: ApplicationId,
        slot: usize,
    ) -> Result<(), ApplicationError> {
        let w = self.workspace(applicant, id).await?;
        if !w.application.is_draft() {
            return Err(ApplicationError::Submitted);
        }
        let s = w.slots.get(slot).ok_or(ApplicationError::MaterialNotFound)?;
        let mut tx = self.db().begin().await?;
        if !self.touch(&mut tx, id, self.db().now()).await? {
            return Err(ApplicationError::Submitted);
        }
        exec!(
            tx,
            sqlx::query("DELETE FROM application_licences WHERE application_id = $1 AND material_name = $2")
                .bind(id.as_uuid())
                .bind(&s.material.name)
        )?;
        tx.commit().await?;
        Ok(())
    }

    /// Marks the draft changed (a submission under way sees it); false when it is no longer a
    /// draft.
    async fn touch(
        &self,
        tx: &mut govhall_db::Tx,
        id: ApplicationId,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, ApplicationError> {
        let claimed = exec!(
            tx,
            sqlx::query(
                "UPDATE applications SET updated_at = $1, purge_noticed_at = NULL, revision = revision + 1
                 WHERE id = $2 AND state = 'draft'"
            )
            .bind(now)
            .bind(id.as_uuid())
        )?;
        Ok(claimed > 0)
    }
}
