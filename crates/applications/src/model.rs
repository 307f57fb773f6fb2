//! An application as the applicant sees it: its answers, its files, and the task list that
//! says which parts are done.

use crate::ids::{AccountId, ApplicationFileId, ApplicationId, CaseId, EnterpriseId};
use chrono::{DateTime, Utc};
use govhall_catalog::form::{Answers, FormSchema, Prefill};
use govhall_catalog::model::Material;
use govhall_files::Kind;
use serde::Serialize;
use std::collections::BTreeMap;
use uuid::Uuid;

/// Where an application is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationState {
    /// Being filled in (暂存): it can still change.
    Draft,
    /// Claimed by a submission under way: no more changes; the case is being made.
    Submitting,
    /// Submitted: the case exists.
    Submitted,
}

impl ApplicationState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ApplicationState::Draft => "draft",
            ApplicationState::Submitting => "submitting",
            ApplicationState::Submitted => "submitted",
        }
    }

    /// Its Chinese name.
    pub fn label(self) -> &'static str {
        match self {
            ApplicationState::Draft => "草稿",
            ApplicationState::Submitting => "提交中",
            ApplicationState::Submitted => "已提交",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<ApplicationState> {
        [ApplicationState::Draft, ApplicationState::Submitting, ApplicationState::Submitted]
            .into_iter()
            .find(|state| state.as_str() == s)
    }
}

/// An application, draft or submitted, its answers opened.
#[derive(Debug, Clone, Serialize)]
pub struct Application {
    /// Id.
    pub id: ApplicationId,
    /// Who applies.
    pub applicant_id: AccountId,
    /// The enterprise applied for, if any.
    pub enterprise_id: Option<EnterpriseId>,
    /// The item.
    pub item_code: String,
    /// The item's name.
    pub item_name: String,
    /// The item's version when the draft was started.
    pub item_version: i32,
    /// The answers so far.
    pub answers: Answers,
    /// The serial number of an earlier application answers were brought from.
    pub brought_from: Option<String>,
    /// Draft, being submitted, or submitted.
    pub state: ApplicationState,
    /// The case, once submitted.
    pub case_id: Option<CaseId>,
    /// Its serial number, once submitted.
    pub serial_number: Option<String>,
    /// Saves so far.
    pub revision: i32,
    /// Started.
    pub created_at: DateTime<Utc>,
    /// Last saved.
    pub updated_at: DateTime<Utc>,
    /// Submitted.
    pub submitted_at: Option<DateTime<Utc>>,
}

impl Application {
    /// Whether it can still be changed.
    pub fn is_draft(&self) -> bool {
        self.state == ApplicationState::Draft
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct ApplicationRow {
    pub id: Uuid,
    pub applicant_id: Uuid,
    pub enterprise_id: Option<Uuid>,
    pub item_code: String,
    pub item_name: String,
    pub item_version: i32,
    pub answers_enc: String,
    pub brought_from: Option<String>,
    pub state: String,
    pub case_id: Option<Uuid>,
    pub serial_number: Option<String>,
    pub revision: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub submitted_at: Option<DateTime<Utc>>,
}

pub(crate) const COLUMNS: &str = "id, applicant_id, enterprise_id, item_code, item_name, item_version, answers_enc,
    brought_from, state, case_id, serial_number, revision, created_at, updated_at, submitted_at";

/// A file given for a material.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApplicationFile {
    /// Id.
    pub id: ApplicationFileId,
    /// The application.
    pub application_id: ApplicationId,
    /// The material's place in the guide (from 0).
    pub material: i32,
    /// The material's name.
    pub material_name: String,
    /// The file's (cleaned) name.
    pub file_name: String,
    /// Its MIME type, from its content.
    pub content_type: String,
    /// Its size in bytes.
    pub size: i64,
    /// SHA-256 of its content.
    pub sha256: String,
    /// Where it is in the store.
    #[serde(skip)]
    pub store_key: String,
    /// When uploaded.
    pub created_at: DateTime<Utc>,
    /// The library file it was given from, if it was.
    pub library_material_id: Option<Uuid>,
    /// Where it came from, as staff read it (取自材料库：…), if it was given from the library.
    pub provenance: Option<String>,
}

/// A file row as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct ApplicationFileRow {
    pub id: Uuid,
    pub application_id: Uuid,
    pub material: i32,
    pub material_name: String,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub store_key: String,
    pub created_at: DateTime<Utc>,
    pub library_material_id: Option<Uuid>,
    pub provenance: Option<String>,
}

impl From<ApplicationFileRow> for ApplicationFile {
    fn from(r: ApplicationFileRow) -> Self {
        ApplicationFile {
            id: ApplicationFileId::from_uuid(r.id),
            application_id: ApplicationId::from_uuid(r.application_id),
            material: r.material,
            material_name: r.material_name,
            file_name: r.file_name,
            content_type: r.content_type,
            size: r.size,
            sha256: r.sha256,
            store_key: r.store_key,
            created_at: r.created_at,
            library_material_id: r.library_material_id,
            provenance: r.provenance,
        }
    }
}

pub(crate) const FILE_COLUMNS: &str =
    "id, application_id, material, material_name, file_name, content_type, size, sha256, store_key, created_at,
    library_material_id, provenance";

/// One slot for a material: what it takes and what was given.
#[derive(Debug, Clone, Serialize)]
pub struct Slot {
    /// Its place in the guide (from 0).
    pub index: usize,
    /// The material.
    pub material: Material,
    /// The kinds it takes.
    pub kinds: Vec<Kind>,
    /// The files given.
    pub files: Vec<ApplicationFile>,
    /// The electronic licence given in place of files (可免交), if any.
    pub licence: Option<crate::licences::UsedLicence>,
}

impl Slot {
    /// Whether a licence that still counts was given.
    pub fn has_licence(&self) -> bool {
        self.licence.as_ref().is_some_and(|l| l.problem.is_none())
    }

    /// Whether something was given: a file or a licence that counts.
    pub fn given(&self) -> bool {
        !self.files.is_empty() || self.has_licence()
    }

    /// Whether it still needs a file (or a licence).
    pub fn missing(&self) -> bool {
        self.material.required && !self.given()
    }
}

/// One entry of the task list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Task {
    /// `section:<key>` or `materials`.
    pub key: String,
    /// What it is called.
    pub title: String,
    /// Something was given.
    pub started: bool,
    /// Complete and without errors.
    pub done: bool,
}

impl Task {
    /// Its state as the applicant reads it.
    pub fn state_label(&self) -> &'static str {
        match (self.done, self.started) {
            (true, _) => "已完成",
            (false, true) => "未完成",
            (false, false) => "未开始",
        }
    }
}

/// Everything the pages of one application need.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// The application.
    pub application: Application,
    /// The form (the item's published one).
    pub form: FormSchema,
    /// The slots, one per material.
    pub slots: Vec<Slot>,
    /// Values from the verified profile: field key → (value, where from); read-only.
    pub locked: BTreeMap<String, (String, &'static str)>,
    /// The task list.
    pub tasks: Vec<Task>,
    /// The guide's department and time limit, for the receipt.
    pub department: String,
    /// Whether the item still takes online applications.
    pub open: bool,
}

impl Workspace {
    /// Tasks done and in all: "已完成 3/5".
    pub fn progress(&self) -> (usize, usize) {
        (self.tasks.iter().filter(|t| t.done).count(), self.tasks.len())
    }

    /// Whether a field's value comes from the verified profile.
    pub fn is_locked(&self, key: &str) -> bool {
        self.locked.contains_key(key)
    }
}

/// A profile value that fills a field.
pub(crate) type Profile = BTreeMap<Prefill, String>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_read_back_their_stored_names() {
        for s in [ApplicationState::Draft, ApplicationState::Submitting, ApplicationState::Submitted] {
            assert_eq!(ApplicationState::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert_eq!(ApplicationState::parse("sent"), None);
    }
}
