//! Drafts (暂存): started from an item (answers brought from the applicant's last application
//! for it, and values from their verified profile filled in and locked), read back with their
//! task list, saved a section at a time (the web form) or by merging (the API). Every save
//! keeps what was typed, valid or not; errors come back beside it.

use crate::ids::{AccountId, ApplicationId, CaseId, EnterpriseId};
use crate::model::{
    Application, ApplicationFile, ApplicationFileRow, ApplicationRow, ApplicationState, COLUMNS, FILE_COLUMNS, Profile,
    Slot, Task, Workspace,
};
use crate::{ApplicationError, Applications};
use chrono::{DateTime, Utc};
use govhall_catalog::form::{Answers, FieldError, FormSchema, Prefill};
use govhall_catalog::store::Guide;
use govhall_db::{exec, run, sqlx, sqlx::AssertSqlSafe};
use govhall_files::Kind;
use govhall_identity::AccountKind;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use uuid::Uuid;

/// How submitted answers meet the saved ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope<'a> {
    /// Every field of this section takes the submitted value (absent = cleared: an unticked box).
    Section(&'a str),
    /// Only the fields given change (the API).
    Merge,
}

/// A draft in the applicant's list.
#[derive(Debug, Clone)]
pub struct DraftSummary {
    /// The application.
    pub application: Application,
    /// Tasks done.
    pub done: usize,
    /// Tasks in all.
    pub total: usize,
    /// When it will be removed if left alone.
    pub purge_on: DateTime<Utc>,
}

impl Applications {
    pub(crate) fn open_row(&self, row: ApplicationRow) -> Result<Application, ApplicationError> {
        let json = self.identity().keys().decrypt(&row.answers_enc)?;
        let answers: Answers = serde_json::from_str(&json).map_err(|e| ApplicationError::Internal(e.to_string()))?;
        let state = ApplicationState::parse(&row.state)
            .ok_or_else(|| ApplicationError::Internal(format!("申报 {} 的状态“{}”无法识别", row.id, row.state)))?;
        Ok(Application {
            id: ApplicationId::from_uuid(row.id),
            applicant_id: AccountId::from_uuid(row.applicant_id),
            enterprise_id: row.enterprise_id.map(EnterpriseId::from_uuid),
            item_code: row.item_code,
            item_name: row.item_name,
            item_version: row.item_version,
            answers,
            brought_from: row.brought_from,
            state,
            case_id: row.case_id.map(CaseId::from_uuid),
            serial_number: row.serial_number,
            revision: row.revision,
            created_at: row.created_at,
            updated_at: row.updated_at,
            submitted_at: row.submitted_at,
        })
    }

    pub(crate) fn seal(&self, answers: &Answers) -> Result<String, ApplicationError> {
        let json = serde_json::to_string(answers).map_err(|e| ApplicationError::Internal(e.to_string()))?;
        Ok(self.identity().keys().encrypt(&json))
    }

    async fn published(&self, code: &str) -> Result<Arc<Guide>, ApplicationError> {
        self.catalog()
            .guide(code)
            .await?
            .ok_or_else(|| ApplicationError::ItemUnavailable(format!("事项“{code}”不存在或已停止办理")))
    }

    /// The verified values that fill fields: the account's real name, ID number and mobile
    /// number, and the enterprise's name and credit code when applying for one.
    pub(crate) async fn profile(
        &self,
        applicant: AccountId,
        enterprise: Option<EnterpriseId>,
    ) -> Result<Profile, ApplicationError> {
        let account = self.identity().account(applicant).await?;
        let mut profile = Profile::new();
        profile.insert(Prefill::RealName, account.real_name.clone());
        profile.insert(Prefill::Phone, account.phone.as_str().to_owned());
        if let Some(id) = &account.id_number {
            profile.insert(Prefill::IdNumber, id.as_str().to_owned());
        }
        if let Some(enterprise) = enterprise {
            let m = self.identity().membership(enterprise, applicant).await?;
            if let Some(m) = m.filter(|m| m.status == "active") {
                profile.insert(Prefill::EnterpriseName, m.enterprise_name);
                profile.insert(Prefill::CreditCode, m.credit_code);
            }
        }
        Ok(profile)
    }

    fn locked(form: &FormSchema, profile: &Profile) -> BTreeMap<String, (String, &'static str)> {
        form.fields()
            .filter_map(|f| {
                let source = f.prefill?;
                profile.get(&source).map(|v| (f.key.clone(), (v.clone(), source.source())))
            })
            .collect()
    }

    fn apply_locked(answers: &mut Answers, locked: &BTreeMap<String, (String, &'static str)>) {
        for (key, (value, _)) in locked {
            answers.insert(key.clone(), Value::String(value.clone()));
        }
    }

    /// Starts a draft of `code` (or returns the open one): answers brought from the latest
    /// submitted application for the same item, then the verified profile. Returns the id and
    /// whether it is new.
    pub async fn start(
        &self,
        applicant: AccountId,
        code: &str,
        enterprise: Option<EnterpriseId>,
    ) -> Result<(ApplicationId, bool), ApplicationError> {
        let account = self.identity().account(applicant).await?;
        if account.kind != AccountKind::Person {
            return Err(ApplicationError::Forbidden("工作人员和管理员账号不能申报，请使用个人账号".into()));
        }
        let guide = self.published(code).await?;
        if !guide.content.online_apply {
            return Err(ApplicationError::ItemUnavailable(format!(
                "“{}”暂不支持网上申报，请到窗口办理",
                guide.item.name
            )));
        }
        if let Some(e) = enterprise {
            let m = self.identity().membership(e, applicant).await?;
            if m.is_none_or(|m| m.status != "active") {
                return Err(ApplicationError::Forbidden("您不是该企业的在册经办人，不能以企业名义申报".into()));
            }
        }
        let enterprise_key = enterprise.map(|e| e.to_string()).unwrap_or_default();
        if let Some(id) = self.open_draft(applicant, code, &enterprise_key).await? {
            return Ok((id, false));
        }
        let form = guide.content.application_form();
        let locked = Self::locked(&form, &self.profile(applicant, enterprise).await?);
        // Answers of the last application for this item, except what the profile fills.
        let (mut answers, brought_from) = match self.last_submitted(applicant, code, &enterprise_key).await? {
            Some(last) => {
                let mut kept = form.normalise(&last.answers);
                // Not the profile's values (filled afresh), nor promises (given again each time).
                let consent =
                    |k: &str| form.field(k).is_some_and(|f| f.kind == govhall_catalog::form::FieldKind::Consent);
                kept.retain(|k, _| !locked.contains_key(k) && !consent(k));
                (kept, last.serial_number)
            }
            None => (Answers::new(), None),
        };
        Self::apply_locked(&mut answers, &locked);
        let id = ApplicationId::new();
        let now = self.db().now();
        let sealed = self.seal(&answers)?;
        let mut conn = self.db().conn().await?;
        let inserted = exec!(
            conn,
            sqlx::query(
                "INSERT INTO applications (id, applicant_id, enterprise_id, enterprise_key, item_code, item_name,
                    item_version, answers_enc, brought_from, state, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'draft', $10, $10)"
            )
            .bind(id.as_uuid())
            .bind(applicant.as_uuid())
            .bind(enterprise.map(|e| e.as_uuid()))
            .bind(&enterprise_key)
            .bind(code)
            .bind(&guide.item.name)
            .bind(guide.version)
            .bind(&sealed)
            .bind(&brought_from)
            .bind(now)
        );
        drop(conn);
        match inserted.map_err(govhall_db::DbError::from) {
            Ok(_) => Ok((id, true)),
            // Two starts at once: the other one's draft is the draft.
            Err(e) if e.is_unique_violation() => {
                let id = self.open_draft(applicant, code, &enterprise_key).await?.ok_or(ApplicationError::NotFound)?;
                Ok((id, false))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn open_draft(
        &self,
        applicant: AccountId,
        code: &str,
        enterprise_key: &str,
    ) -> Result<Option<ApplicationId>, ApplicationError> {
        let mut conn = self.db().conn().await?;
        let id: Option<Uuid> = run!(conn, |c| sqlx::query_scalar(
            "SELECT id FROM applications WHERE applicant_id = $1 AND item_code = $2 AND enterprise_key = $3
               AND state = 'draft'"
        )
        .bind(applicant.as_uuid())
        .bind(code)
        .bind(enterprise_key)
        .fetch_optional(&mut *c)
        .await)?;
        Ok(id.map(ApplicationId::from_uuid))
    }

    async fn last_submitted(
        &self,
        applicant: AccountId,
        code: &str,
        enterprise_key: &str,
    ) -> Result<Option<Application>, ApplicationError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM applications WHERE applicant_id = $1 AND item_code = $2 AND enterprise_key = $3
               AND state = 'submitted' ORDER BY submitted_at DESC LIMIT 1"
        );
        let mut conn = self.db().conn().await?;
        let row: Option<ApplicationRow> = run!(conn, |c| sqlx::query_as(AssertSqlSafe(sql.clone()))
            .bind(applicant.as_uuid())
            .bind(code)
            .bind(enterprise_key)
            .fetch_optional(&mut *c)
            .await)?;
        row.map(|r| self.open_row(r)).transpose()
    }

    /// The applicant's own application (another's reads as missing).
    pub async fn get(&self, applicant: AccountId, id: ApplicationId) -> Result<Application, ApplicationError> {
        let sql = format!("SELECT {COLUMNS} FROM applications WHERE id = $1 AND applicant_id = $2");
        let mut conn = self.db().conn().await?;
        let row: Option<ApplicationRow> = run!(conn, |c| sqlx::query_as(AssertSqlSafe(sql.clone()))
            .bind(id.as_uuid())
            .bind(applicant.as_uuid())
            .fetch_optional(&mut *c)
            .await)?;
        drop(conn);
        let application = self.open_row(row.ok_or(ApplicationError::NotFound)?)?;
        // One made for an enterprise is its active members' only: an agent removed from the
        // enterprise loses its drafts and files at once.
        if let Some(e) = application.enterprise_id {
            let member = self.identity().membership(e, applicant).await?;
            if member.is_none_or(|m| m.status != "active") {
                return Err(ApplicationError::NotFound);
            }
        }
        Ok(application)
    }

    /// The application that became case `case` (for staff who may see the case).
    pub async fn of_case(&self, case: CaseId) -> Result<Option<Application>, ApplicationError> {
        let sql = format!("SELECT {COLUMNS} FROM applications WHERE case_id = $1");
        let mut conn = self.db().conn().await?;
        let row: Option<ApplicationRow> = run!(conn, |c| sqlx::query_as(AssertSqlSafe(sql.clone()))
            .bind(case.as_uuid())
            .fetch_optional(&mut *c)
            .await)?;
        row.map(|r| self.open_row(r)).transpose()
    }

    pub(crate) async fn file_rows(&self, application: ApplicationId) -> Result<Vec<ApplicationFile>, ApplicationError> {
        let sql = format!(
            "SELECT {FILE_COLUMNS} FROM application_files WHERE application_id = $1 ORDER BY material, created_at, id"
        );
        let mut conn = self.db().conn().await?;
        let rows: Vec<ApplicationFileRow> = run!(conn, |c| sqlx::query_as(AssertSqlSafe(sql.clone()))
            .bind(application.as_uuid())
            .fetch_all(&mut *c)
            .await)?;
        Ok(rows.into_iter().map(ApplicationFile::from).collect())
    }

    /// Everything the pages of the applicant's application need.
    pub async fn workspace(&self, applicant: AccountId, id: ApplicationId) -> Result<Workspace, ApplicationError> {
        let application = self.get(applicant, id).await?;
        self.workspace_of(application).await
    }

    pub(crate) async fn workspace_of(&self, mut application: Application) -> Result<Workspace, ApplicationError> {
        let guide = self.catalog().guide(&application.item_code).await?;
        let (form, materials, department, open) = match &guide {
            Some(g) => (
                g.content.application_form(),
                g.content.materials.clone(),
                g.item.department.clone(),
                g.content.online_apply,
            ),
            None => (FormSchema::standard(), Vec::new(), String::new(), false),
        };
        let locked = if application.is_draft() {
            Self::locked(&form, &self.profile(application.applicant_id, application.enterprise_id).await?)
        } else {
            BTreeMap::new()
        };
        Self::apply_locked(&mut application.answers, &locked);
        let files = self.file_rows(application.id).await?;
        let mut used = self.used_licences(&application, &materials).await?;
        let slots: Vec<Slot> = materials
            .into_iter()
            .enumerate()
            .map(|(index, material)| Slot {
                index,
                kinds: Kind::from_formats(&material.formats),
                // By name: a new version of the guide may reorder its materials.
                files: files.iter().filter(|f| f.material_name == material.name).cloned().collect(),
                licence: used.iter().position(|(name, _)| *name == material.name).map(|i| used.swap_remove(i).1),
                material,
            })
            .collect();
        let today = govhall_core::clock::china_date(self.db().now());
        let mut tasks: Vec<Task> = form
            .sections
            .iter()
            .map(|s| {
                let started = form.section_started(s, &application.answers);
                let errors = form.check_section(s, &application.answers, self.regions(), today);
                Task {
                    key: format!("section:{}", s.key),
                    title: s.title.clone(),
                    started,
                    done: errors.is_empty() && started,
                }
            })
            .collect();
        if !slots.is_empty() {
            let started = slots.iter().any(Slot::given);
            tasks.push(Task {
                key: "materials".into(),
                title: "上传申请材料".into(),
                started,
                done: slots.iter().all(|s| !s.missing()) && (started || slots.iter().all(|s| !s.material.required)),
            });
        }
        Ok(Workspace { application, form, slots, locked, tasks, department, open })
    }

    /// Saves answers into the draft; returns the errors of what was saved (the section's, or
    /// every section's when merging). What was typed is kept either way.
    pub async fn save(
        &self,
        applicant: AccountId,
        id: ApplicationId,
        scope: Scope<'_>,
        given: &Answers,
    ) -> Result<Vec<FieldError>, ApplicationError> {
        let workspace = self.workspace(applicant, id).await?;
        if !workspace.application.is_draft() {
            return Err(ApplicationError::Submitted);
        }
        let form = &workspace.form;
        let mut answers = workspace.application.answers.clone();
        match scope {
            Scope::Section(key) => {
                let section = form.section(key).ok_or(ApplicationError::NotFound)?;
                for field in &section.fields {
                    match given.get(&field.key) {
                        Some(v) => answers.insert(field.key.clone(), v.clone()),
                        None => answers.remove(&field.key),
                    };
                }
            }
            Scope::Merge => {
                if let Some(unknown) = given.keys().find(|k| form.field(k).is_none()) {
                    return Err(ApplicationError::InvalidInput(format!("申请表中没有字段“{unknown}”")));
                }
                for (k, v) in given {
                    answers.insert(k.clone(), v.clone());
                }
            }
        }
        let mut answers = form.normalise(&answers);
        Self::apply_locked(&mut answers, &workspace.locked);
        let sealed = self.seal(&answers)?;
        let now = self.db().now();
        let mut conn = self.db().conn().await?;
        let changed = exec!(
            conn,
            sqlx::query(
                "UPDATE applications SET answers_enc = $1, updated_at = $2, purge_noticed_at = NULL,
                    revision = revision + 1
                 WHERE id = $3 AND applicant_id = $4 AND state = 'draft'"
            )
            .bind(&sealed)
            .bind(now)
            .bind(id.as_uuid())
            .bind(applicant.as_uuid())
        )?;
        if changed == 0 {
            return Err(ApplicationError::Submitted);
        }
        let today = govhall_core::clock::china_date(now);
        Ok(match scope {
            Scope::Section(key) => {
                form.section(key).map_or_else(Vec::new, |s| form.check_section(s, &answers, self.regions(), today))
            }
            Scope::Merge => form.check_answers(&answers, self.regions(), today),
        })
    }

    /// The applicant's drafts with their progress, newest first.
    pub async fn drafts(&self, applicant: AccountId) -> Result<Vec<DraftSummary>, ApplicationError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM applications WHERE applicant_id = $1 AND state IN ('draft', 'submitting')
             ORDER BY updated_at DESC"
        );
        let mut conn = self.db().conn().await?;
        let rows: Vec<ApplicationRow> = run!(conn, |c| sqlx::query_as(AssertSqlSafe(sql.clone()))
            .bind(applicant.as_uuid())
            .fetch_all(&mut *c)
            .await)?;
        drop(conn);
        let mut out = Vec::new();
        for row in rows {
            let application = self.open_row(row)?;
            let purge_on = application.updated_at + chrono::Duration::days(self.settings().draft_days);
            let workspace = self.workspace_of(application).await?;
            let (done, total) = workspace.progress();
            out.push(DraftSummary { application: workspace.application, done, total, purge_on });
        }
        Ok(out)
    }

    /// Discards a draft and its files.
    pub async fn discard(&self, applicant: AccountId, id: ApplicationId) -> Result<(), ApplicationError> {
        let application = self.get(applicant, id).await?;
        if !application.is_draft() || !self.remove(id, None).await? {
            return Err(ApplicationError::Submitted);
        }
        Ok(())
    }

    /// Removes a draft, its file rows and then its stored files — only while it is a draft (and,
    /// for the purge, still idle since `idle_before`): the row is claimed first, so a submission
    /// or a save at the same moment keeps it. Returns whether it was removed.
    pub(crate) async fn remove(
        &self,
        id: ApplicationId,
        idle_before: Option<DateTime<Utc>>,
    ) -> Result<bool, ApplicationError> {
        let id = id.as_uuid();
        let mut tx = self.db().begin().await?;
        let claimed = exec!(
            tx,
            sqlx::query(
                "UPDATE applications SET revision = revision + 1
                 WHERE id = $1 AND state = 'draft' AND ($2 IS NULL OR updated_at < $2)"
            )
            .bind(id)
            .bind(idle_before)
        )?;
        if claimed == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        let keys: Vec<String> =
            run!(tx, |c| sqlx::query_scalar("SELECT store_key FROM application_files WHERE application_id = $1")
                .bind(id)
                .fetch_all(&mut *c)
                .await)?;
        exec!(tx, sqlx::query("DELETE FROM application_licences WHERE application_id = $1").bind(id))?;
        exec!(tx, sqlx::query("DELETE FROM application_files WHERE application_id = $1").bind(id))?;
        exec!(tx, sqlx::query("DELETE FROM applications WHERE id = $1").bind(id))?;
        tx.commit().await?;
        for key in keys {
            self.discard_object(&key).await;
        }
        Ok(true)
    }
}
