//! The submission (完成申报): every answer and every required material checked again on the
//! server, then the case created through the case engine (serial number, query password, the
//! first step, the applicant told), and the draft marked submitted. The password is kept sealed
//! only until the applicant's confirmation page shows it, once.

use crate::model::Workspace;
use crate::{ApplicationError, Applications};
use govhall_cases::model::SubmittedMaterial;
use govhall_cases::submit::Submission;
use govhall_catalog::form::FormSchema;
use govhall_db::{exec, run, sqlx};
use govhall_identity::{AccountId, EnterpriseId};
use serde_json::{Value, json};
use uuid::Uuid;

/// A submitted application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Done {
    /// The case.
    pub case_id: Uuid,
    /// Its serial number.
    pub serial_number: String,
}

/// The form as staff read it: one line per shown field, in order.
pub(crate) fn lines(form: &FormSchema, w: &Workspace, regions: &crate::regions::Regions) -> Vec<Value> {
    let answers = &w.application.answers;
    form.sections
        .iter()
        .flat_map(|s| {
            s.fields
                .iter()
                .filter(|f| form.visible(f, answers))
                .map(|f| json!([s.title, f.label, form.display(f, answers, regions)]))
                .collect::<Vec<_>>()
        })
        .collect()
}

impl Applications {
    /// What still stops the draft from being submitted: errors beside fields, then missing
    /// materials.
    pub fn problems(&self, w: &Workspace) -> Result<(), ApplicationError> {
        let today = govhall_cases::deadline::china_date(self.db().now());
        let errors = w.form.check_answers(&w.application.answers, self.regions(), today);
        if !errors.is_empty() {
            return Err(ApplicationError::Answers(errors));
        }
        let missing: Vec<&str> = w.slots.iter().filter(|s| s.missing()).map(|s| s.material.name.as_str()).collect();
        if !missing.is_empty() {
            return Err(ApplicationError::Materials(format!("请上传必要材料：{}", missing.join("、"))));
        }
        Ok(())
    }

    /// Submits the applicant's draft (a second call answers with the same case).
    pub async fn submit(&self, applicant: AccountId, id: Uuid) -> Result<Done, ApplicationError> {
        let w = self.workspace(applicant, id).await?;
        if let (Some(case_id), Some(serial_number)) = (w.application.case_id, w.application.serial_number.clone()) {
            return Ok(Done { case_id, serial_number });
        }
        if !w.open {
            return Err(ApplicationError::ItemUnavailable(format!(
                "“{}”已停止网上申报，草稿仍为您保留",
                w.application.item_name
            )));
        }
        self.problems(&w)?;
        let answers = w.form.without_hidden(&w.application.answers);
        let form = json!({
            "item_version": w.application.item_version,
            "answers": answers,
            "lines": lines(&w.form, &w, self.regions()),
        });
        let materials = w
            .slots
            .iter()
            .filter(|s| !s.files.is_empty())
            .map(|s| SubmittedMaterial {
                name: s.material.name.clone(),
                files: s.files.iter().map(|f| f.file_name.clone()).collect(),
            })
            .collect();
        let submitted = self
            .cases()
            .submit(Submission {
                item_code: w.application.item_code.clone(),
                applicant,
                enterprise: w.application.enterprise_id.map(EnterpriseId::from_uuid),
                form,
                materials,
                idempotency_key: format!("application:{id}"),
            })
            .await?;
        let sealed_answers = self.seal(&answers)?;
        let sealed_password = submitted.query_password.as_deref().map(|p| self.identity().keys().encrypt(p));
        let mut conn = self.db().conn().await?;
        exec!(
            conn,
            sqlx::query(
                "UPDATE applications SET state = 'submitted', case_id = $1, serial_number = $2, password_enc = $3,
                    answers_enc = $4, submitted_at = $5, updated_at = $5, revision = revision + 1
                 WHERE id = $6 AND state = 'draft'"
            )
            .bind(submitted.case_id)
            .bind(&submitted.serial_number)
            .bind(sealed_password)
            .bind(&sealed_answers)
            .bind(self.db().now())
            .bind(id)
        )?;
        Ok(Done { case_id: submitted.case_id, serial_number: submitted.serial_number })
    }

    /// The query password of the applicant's submitted application, the first time only.
    pub async fn reveal_password(&self, applicant: AccountId, id: Uuid) -> Result<Option<String>, ApplicationError> {
        let mut conn = self.db().conn().await?;
        let sealed: Option<Option<String>> = run!(conn, |c| sqlx::query_scalar(
            "SELECT password_enc FROM applications WHERE id = $1 AND applicant_id = $2 AND state = 'submitted'"
        )
        .bind(id)
        .bind(applicant.as_uuid())
        .fetch_optional(&mut *c)
        .await)?;
        let Some(sealed) = sealed.ok_or(ApplicationError::NotFound)? else { return Ok(None) };
        let taken = exec!(
            conn,
            sqlx::query("UPDATE applications SET password_enc = NULL WHERE id = $1 AND password_enc = $2")
                .bind(id)
                .bind(&sealed)
        )?;
        if taken == 0 {
            return Ok(None);
        }
        Ok(Some(self.identity().keys().decrypt(&sealed)?))
    }
}
