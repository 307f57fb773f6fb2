//! Files given with a complaint (its complainant's, when making it and when adding information),
//! with a department's answer to a 差评, and with an appeal (its evidence). Each is checked by its
//! content like a case's files (PDF, OFD, PNG, JPG, at most `[cases] max_file_bytes`), kept in the
//! action's own transaction, and read back only through its owner, whose reader has already
//! checked who may see it.

use crate::{Feedback, FeedbackError};
use chrono::{DateTime, Utc};
use govhall_cases::files::{NewFile, check, stored_name};
use govhall_db::{Tx, exec, run, sqlx};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Most files one action carries.
pub const MAX_FILES: usize = 5;

/// Most files a complaint holds, whatever number of additions brought them.
pub const MAX_COMPLAINT_FILES: i32 = 20;

/// What a file was given with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// A complaint.
    Complaint(Uuid),
    /// A department's answer to a 差评.
    Rectification(Uuid),
    /// An appeal.
    Appeal(Uuid),
}

impl Owner {
    fn parts(self) -> (&'static str, Uuid) {
        match self {
            Owner::Complaint(id) => ("complaint", id),
            Owner::Rectification(id) => ("rectification", id),
            Owner::Appeal(id) => ("appeal", id),
        }
    }
}

/// Who gave a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddedBy {
    /// The complainant.
    Complainant,
    /// A department's staff.
    Staff,
}

/// A file as listed (without its bytes).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Attachment {
    /// Id.
    pub id: Uuid,
    /// `complaint`, `rectification` or `appeal`.
    pub owner_kind: String,
    /// The complaint, task or appeal.
    pub owner_id: Uuid,
    /// `complainant` or `staff`.
    pub added_by: String,
    /// Its name (cleaned, with the extension of what it is).
    pub file_name: String,
    /// Its type.
    pub content_type: String,
    /// Its size in bytes.
    pub size: i64,
    /// When it was given.
    pub created_at: DateTime<Utc>,
}

impl Attachment {
    /// Who gave it, in Chinese (never a staff member's name).
    pub fn added_by_label(&self) -> &'static str {
        if self.added_by == "staff" { "承办部门" } else { "投诉人" }
    }
}

/// Checks the files of one action before anything is written: how many, and each by its
/// content and size (the error names the file).
pub(crate) fn check_all(files: &[NewFile], max_bytes: usize) -> Result<(), FeedbackError> {
    if files.len() > MAX_FILES {
        return Err(FeedbackError::TooManyFiles(format!("一次最多上传 {MAX_FILES} 个文件")));
    }
    for file in files {
        check(file, max_bytes)?;
    }
    Ok(())
}

/// Keeps `files` with `owner` in `tx` (checked again: a caller cannot skip the check).
pub(crate) async fn attach(
    tx: &mut Tx,
    owner: Owner,
    by: AddedBy,
    files: &[NewFile],
    max_bytes: usize,
) -> Result<(), FeedbackError> {
    check_all(files, max_bytes)?;
    let (kind, id) = owner.parts();
    let now = tx.db().now();
    for file in files {
        let content_type = check(file, max_bytes)?;
        exec!(
            tx,
            sqlx::query(
                "INSERT INTO feedback_files (id, owner_kind, owner_id, added_by, file_name, content_type, size, sha256,
                    content, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            )
            .bind(Uuid::now_v7())
            .bind(kind)
            .bind(id)
            .bind(if by == AddedBy::Staff { "staff" } else { "complainant" })
            .bind(stored_name(&file.file_name, content_type))
            .bind(content_type)
            .bind(i64::try_from(file.bytes.len()).unwrap_or(i64::MAX))
            .bind(hex::encode(Sha256::digest(&file.bytes)))
            .bind(&file.bytes)
            .bind(now)
        )?;
    }
    Ok(())
}

/// Counts `n` more files on a complaint that is still open to additions (received, accepted or
/// answered), refused past [`MAX_COMPLAINT_FILES`]: one conditional update, so additions arriving
/// at once cannot pass the limit together, nor reach a complaint closed meanwhile.
pub(crate) async fn count_complaint_files(tx: &mut Tx, complaint: Uuid, n: usize) -> Result<(), FeedbackError> {
    let n = i32::try_from(n).unwrap_or(i32::MAX);
    let changed = exec!(
        tx,
        sqlx::query(
            "UPDATE complaints SET file_count = file_count + $1
             WHERE id = $2 AND file_count + $1 <= $3 AND state IN ('received', 'accepted', 'answered')"
        )
        .bind(n)
        .bind(complaint)
        .bind(MAX_COMPLAINT_FILES)
    )?;
    if changed == 1 {
        return Ok(());
    }
    let state: Option<String> = run!(tx, |c| sqlx::query_scalar("SELECT state FROM complaints WHERE id = $1")
        .bind(complaint)
        .fetch_optional(&mut *c)
        .await)?;
    match state.as_deref() {
        None => Err(FeedbackError::NotFound("投诉")),
        Some("closed" | "rejected") => Err(FeedbackError::WrongState("投诉已办结，不能再补充".into())),
        Some(_) => Err(FeedbackError::TooManyFiles(format!("一件投诉最多附 {MAX_COMPLAINT_FILES} 个文件"))),
    }
}

const LIST: &str = "SELECT id, owner_kind, owner_id, added_by, file_name, content_type, size, created_at
     FROM feedback_files WHERE owner_kind = $1 AND owner_id = $2 ORDER BY created_at, id";

impl Feedback {
    /// The files given with `owner`, oldest first. The caller has checked that its viewer may see
    /// the owner.
    pub async fn attachments(&self, owner: Owner) -> Result<Vec<Attachment>, FeedbackError> {
        let (kind, id) = owner.parts();
        let mut conn = self.db().conn().await?;
        Ok(run!(conn, |c| sqlx::query_as(LIST).bind(kind).bind(id).fetch_all(&mut *c).await)?)
    }

    /// One file of `owner`: its name, type and bytes (a file of anything else: not found). The
    /// caller has checked that its viewer may see the owner.
    pub async fn attachment(&self, owner: Owner, file: Uuid) -> Result<(String, String, Vec<u8>), FeedbackError> {
        let (kind, id) = owner.parts();
        let mut conn = self.db().conn().await?;
        let row: Option<(String, String, Vec<u8>)> = run!(conn, |c| {
            sqlx::query_as(
            "SELECT file_name, content_type, content FROM feedback_files WHERE id = $1 AND owner_kind = $2 AND owner_id = $3"
        )
        .bind(file)
        .bind(kind)
        .bind(id)
        .fetch_optional(&mut *c)
        .await
        })?;
        row.ok_or(FeedbackError::NotFound("文件"))
    }
}
