//! The submission (完成申报): every answer and every required material checked again on the
//! server, then the case created through the case engine (serial number, query password, the
//! first step, the applicant told), and the draft marked submitted. The password is kept sealed
//! only until the applicant's confirmation page shows it, once.

use crate::ids::{AccountId, ApplicationId, CaseId};
use crate::model::{ApplicationState, Workspace};
use crate::{ApplicationError, Applications};
use govhall_cases::model::SubmittedMaterial;
use govhall_cases::submit::Submission;
use govhall_catalog::form::{FieldError, FormSchema};
use govhall_db::{exec, run, sqlx};
use serde_json::{Value, json};

/// A submitted application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Done {
    /// The case.
    pub case_id: CaseId,
    /// Its serial number.
    pub serial_number: String,
}

/// What still stops a draft from being submitted, everything at once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Blockers {
    /// The answers' problems, each beside its field, in the form's order.
    pub answers: Vec<FieldError>,
    /// The names of required materials without a file, in the guide's order.
    pub missing_materials: Vec<String>,
}

impl Blockers {
    /// Whether nothing stops the submission.
    pub fn is_empty(&self) -> bool {
        self.answers.is_empty() && self.missing_materials.is_empty()
    }

    /// The missing materials as the applicant reads them (请上传必要材料：…), if any.
    pub fn materials_message(&self) -> Option<String> {
        (!self.missing_materials.is_empty()).then(|| format!("请上传必要材料：{}", self.missing_materials.join("、")))
    }

    /// The blockers as the submission refuses with them: the answers' problems first, then the
    /// missing materials.
    pub fn into_result(self) -> Result<(), ApplicationError> {
        if !self.answers.is_empty() {
            return Err(ApplicationError::Answers(self.answers));
        }
        match self.materials_message() {
            Some(message) => Err(ApplicationError::Materials(message)),
            None => Ok(()),
        }
    }
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
    /// What still stops the draft from being submitted (checked today, China time): the one
    /// place the check-answers page, the API and the submission itself learn it from.
    pub fn blockers(&self, w: &Workspace) -> Blockers {
        let today = govhall_core::clock::china_date(self.db().now());
        Blockers {
            answers: w.form.check_answers(&w.application.answers, self.regions(), today),
            missing_materials: w.slots.iter().filter(|s| s.missing()).map(|s| s.material.name.clone()).collect(),
        }
    }

    /// Submits the applicant's draft (a second call answers with the same case). The draft is
    /// claimed first (`submitting`: no more changes), then the case is made and the draft
    /// marked submitted in a task of its own, so that a client going away in between cannot
    /// leave the case without its draft marked or its password kept.
    pub async fn submit(&self, applicant: AccountId, id: ApplicationId) -> Result<Done, ApplicationError> {
        let mut w = self.workspace(applicant, id).await?;
        if let (Some(case_id), Some(serial_number)) = (w.application.case_id, w.application.serial_number.clone()) {
            return Ok(Done { case_id, serial_number });
        }
        if w.application.is_draft() {
            if !w.open {
                return Err(ApplicationError::ItemUnavailable(format!(
                    "“{}”已停止网上申报，草稿仍为您保留",
                    w.application.item_name
                )));
            }
            self.blockers(&w).into_result()?;
            let mut conn = self.db().conn().await?;
            let claimed = exec!(
                conn,
                sqlx::query(
                    "UPDATE applications SET state = 'submitting', revision = revision + 1
                     WHERE id = $1 AND applicant_id = $2 AND state = 'draft' AND revision = $3"
                )
                .bind(id.as_uuid())
                .bind(applicant.as_uuid())
                .bind(w.application.revision)
            )?;
            drop(conn);
            if claimed == 0 {
                // Another request claimed it first (a double tap): that submission is this one.
                // A draft changed meanwhile goes back to the applicant to check.
                w = self.workspace(applicant, id).await?;
                if w.application.is_draft() {
                    return Err(ApplicationError::Changed);
                }
                if let (Some(case_id), Some(serial_number)) =
                    (w.application.case_id, w.application.serial_number.clone())
                {
                    return Ok(Done { case_id, serial_number });
                }
            }
        }
        // Claimed now, or left claimed by an attempt that was interrupted or is under way: finish
        // it (the case engine makes one case per draft, whoever asks).
        let this = self.clone();
        tokio::spawn(async move { this.complete(applicant, id, w).await })
            .await
            .map_err(|e| ApplicationError::Internal(e.to_string()))?
    }

    /// The applicant's application as its confirmation page shows it: a submission that was
    /// interrupted (the draft left claimed, `submitting`) is finished first, so that the page
    /// finds the case and its serial number.
    pub async fn finish_submission(
        &self,
        applicant: AccountId,
        id: ApplicationId,
    ) -> Result<Workspace, ApplicationError> {
        let w = self.workspace(applicant, id).await?;
        if w.application.state != ApplicationState::Submitting {
            return Ok(w);
        }
        self.submit(applicant, id).await?;
        self.workspace(applicant, id).await
    }

    async fn complete(&self, applicant: AccountId, id: ApplicationId, w: Workspace) -> Result<Done, ApplicationError> {
        let answers = w.form.without_hidden(&w.application.answers);
        let form = json!({
            "item_version": w.application.item_version,
            "answers": answers,
            "lines": lines(&w.form, &w, self.regions()),
        });
        let materials = w
            .slots
            .iter()
            .filter(|s| s.given())
            .map(|s| SubmittedMaterial {
                name: s.material.name.clone(),
                files: s
                    .files
                    .iter()
                    .map(|f| f.file_name.clone())
                    .chain(s.licence.iter().filter(|l| l.problem.is_none()).map(|l| l.label.clone()))
                    .collect(),
            })
            .collect();
        let submission = Submission {
            item_code: w.application.item_code.clone(),
            applicant,
            enterprise: w.application.enterprise_id,
            form,
            materials,
            idempotency_key: format!("application:{id}"),
        };
        let submitted = match self.cases().submit(submission).await {
            Ok(s) => s,
            Err(e) => {
                // Not submitted: the draft is the applicant's again.
                let mut conn = self.db().conn().await?;
                exec!(
                    conn,
                    sqlx::query("UPDATE applications SET state = 'draft' WHERE id = $1 AND state = 'submitting'")
                        .bind(id.as_uuid())
                )?;
                return Err(e.into());
            }
        };
        let sealed_answers = self.seal(&answers)?;
        let sealed_password = submitted.query_password.as_deref().map(|p| self.identity().keys().encrypt(p));
        let mut tx = self.db().begin().await?;
        let marked = exec!(
            tx,
            sqlx::query(
                "UPDATE applications SET state = 'submitted', case_id = $1, serial_number = $2,
                    password_enc = COALESCE($3, password_enc), answers_enc = $4, submitted_at = $5, updated_at = $5,
                    revision = revision + 1
                 WHERE id = $6 AND state = 'submitting'"
            )
            .bind(submitted.case_id.as_uuid())
            .bind(&submitted.serial_number)
            .bind(&sealed_password)
            .bind(&sealed_answers)
            .bind(self.db().now())
            .bind(id.as_uuid())
        )?;
        if marked == 1 {
            // What was given goes into the library, with the submission or not at all.
            let files: Vec<_> = w.slots.iter().flat_map(|s| s.files.iter().cloned()).collect();
            self.collect_in(&mut tx, &w.application, &files, &submitted.serial_number).await?;
        } else if let Some(sealed) = &sealed_password {
            // A second request marked it first: the password made here is the only one.
            exec!(
                tx,
                sqlx::query("UPDATE applications SET password_enc = $1 WHERE id = $2 AND password_enc IS NULL")
                    .bind(sealed)
                    .bind(id.as_uuid())
            )?;
        }
        tx.commit().await?;
        Ok(Done { case_id: submitted.case_id, serial_number: submitted.serial_number })
    }

    /// The query password of the applicant's submitted application, the first time only.
    pub async fn reveal_password(
        &self,
        applicant: AccountId,
        id: ApplicationId,
    ) -> Result<Option<String>, ApplicationError> {
        let mut conn = self.db().conn().await?;
        let sealed: Option<Option<String>> = run!(conn, |c| sqlx::query_scalar(
            "SELECT password_enc FROM applications WHERE id = $1 AND applicant_id = $2 AND state = 'submitted'"
        )
        .bind(id.as_uuid())
        .bind(applicant.as_uuid())
        .fetch_optional(&mut *c)
        .await)?;
        let Some(sealed) = sealed.ok_or(ApplicationError::NotFound)? else { return Ok(None) };
        let taken = exec!(
            conn,
            sqlx::query("UPDATE applications SET password_enc = NULL WHERE id = $1 AND password_enc = $2")
                .bind(id.as_uuid())
                .bind(&sealed)
        )?;
        if taken == 0 {
            return Ok(None);
        }
        Ok(Some(self.identity().keys().decrypt(&sealed)?))
    }
}
