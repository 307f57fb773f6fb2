//! Files that come with a transition (a notice, the decision's result document): checked by
//! their content, not their name, and kept with the case.

use crate::CaseError;
use crate::Cases;
use crate::ids::{CaseEventId, CaseFileId, CaseId};
use crate::model::{CaseFile, CaseFileRow, FileKind};
use govhall_db::jobs::{self, NewJob};
use govhall_db::{Tx, exec, run, sqlx};
use govhall_identity::{Access, Permission};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// A file given with an action.
#[derive(Debug, Clone)]
pub struct NewFile {
    /// The name it was uploaded under.
    pub file_name: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// Whether it is the result document (决定书, 证照) rather than an attachment.
    pub result: bool,
    /// The requested material it is given for (an applicant's supplement); empty otherwise.
    pub material: String,
}

const RESULT_DOCUMENT: &str =
    "SELECT file_name, content_type, content FROM case_files WHERE id = $1 AND case_id = $2 AND kind = 'result'";

/// The types accepted, by their first bytes: PDF, OFD (a zip), PNG, JPEG.
fn sniff(bytes: &[u8], name: &str) -> Option<&'static str> {
    if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(b"\xFF\xD8\xFF") {
        Some("image/jpeg")
    } else if bytes.starts_with(b"PK\x03\x04") && name.to_lowercase().ends_with(".ofd") {
        Some("application/ofd")
    } else {
        None
    }
}

/// Invisible characters that reorder or hide text (a right-to-left override can make
/// `exe.pdf` read as `fdp.exe`).
fn is_format(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}' | '\u{00AD}')
}

/// The last part of an uploaded name, without control or format characters or path tricks.
pub fn clean_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !is_format(*c) && !matches!(c, '"' | '<' | '>' | ':' | '|' | '?' | '*'))
        .take(100)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_owned();
    if cleaned.is_empty() { "附件".to_owned() } else { cleaned }
}

/// The name a file is kept under: cleaned, with the extension of what it really is.
pub fn stored_name(name: &str, content_type: &str) -> String {
    let ext = match content_type {
        "application/pdf" => "pdf",
        "image/png" => "png",
        "image/jpeg" => "jpg",
        _ => "ofd",
    };
    let cleaned = clean_name(name);
    match cleaned.rsplit_once('.') {
        Some((_, old)) if old.eq_ignore_ascii_case(ext) || (ext == "jpg" && old.eq_ignore_ascii_case("jpeg")) => {
            cleaned
        }
        Some((stem, _)) if !stem.is_empty() => format!("{stem}.{ext}"),
        _ => format!("{cleaned}.{ext}"),
    }
}

/// Checks a file; the error names it and says what is wrong.
pub fn check(file: &NewFile, max_bytes: usize) -> Result<&'static str, CaseError> {
    let name = clean_name(&file.file_name);
    if file.bytes.is_empty() {
        return Err(CaseError::InvalidFile(format!("文件“{name}”是空的")));
    }
    if file.bytes.len() > max_bytes {
        return Err(CaseError::InvalidFile(format!("文件“{name}”超过 {} MB", max_bytes / (1024 * 1024))));
    }
    sniff(&file.bytes, &name).ok_or_else(|| {
        CaseError::InvalidFile(format!("文件“{name}”不是 PDF、OFD、PNG 或 JPG 文件（按文件内容判断，与扩展名无关）"))
    })
}

/// The job kind announcing a result document kept with a case (payload [`ResultFiled`]): the
/// materials library registers the handler that keeps a copy for the applicant.
pub const RESULT_FILED: &str = "cases.result_filed";

/// A result document kept with a case.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ResultFiled {
    /// The case.
    pub case_id: CaseId,
    /// The file.
    pub file_id: CaseFileId,
}

pub(crate) async fn store_files(
    tx: &mut Tx,
    case: CaseId,
    event: CaseEventId,
    files: &[NewFile],
    max_bytes: usize,
) -> Result<(), CaseError> {
    let now = tx.db().now();
    for file in files {
        let content_type = check(file, max_bytes)?;
        let file_id = CaseFileId::new();
        if file.result {
            let filed = ResultFiled { case_id: case, file_id };
            let job = NewJob::new(RESULT_FILED, filed)?.idempotency_key(format!("{RESULT_FILED}:{file_id}"));
            jobs::enqueue(tx, job).await?;
        }
        exec!(
            tx,
            sqlx::query(
                "INSERT INTO case_files (id, case_id, event_id, kind, file_name, content_type, size, sha256, content, created_at,
                     material)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
            )
            .bind(file_id.as_uuid())
            .bind(case.as_uuid())
            .bind(event.as_uuid())
            .bind(if file.result { FileKind::Result } else { FileKind::Attachment }.as_str())
            .bind(stored_name(&file.file_name, content_type))
            .bind(content_type)
            .bind(i64::try_from(file.bytes.len()).unwrap_or(i64::MAX))
            .bind(hex::encode(Sha256::digest(&file.bytes)))
            .bind(&file.bytes)
            .bind(now)
            .bind(&file.material)
        )?;
    }
    Ok(())
}

impl Cases {
    /// The files of a case, for staff who may see it.
    pub async fn files(&self, access: &Access, case: CaseId) -> Result<Vec<CaseFile>, CaseError> {
        let (c, _) = self.load(case).await?;
        if !access.covers(Permission::CaseView, &crate::queries::target(&c)) {
            return Err(CaseError::NotFound);
        }
        self.file_list(case).await
    }

    /// The result documents of the applicant's own case.
    pub async fn result_files(
        &self,
        applicant: govhall_identity::AccountId,
        case: &crate::Case,
    ) -> Result<Vec<CaseFile>, CaseError> {
        if !self.applicant_may_see(applicant, case).await? {
            return Err(CaseError::NotFound);
        }
        let theirs = self.applicant_events(case.id).await?;
        Ok(self
            .file_list(case.id)
            .await?
            .into_iter()
            .filter(|f| f.kind == FileKind::Result || theirs.contains(&f.event_id))
            .collect())
    }

    /// A result document's name, type and bytes, for the domain that keeps a copy for the
    /// applicant (the job announcing it names the case and the file).
    pub async fn result_document(
        &self,
        case: CaseId,
        file: CaseFileId,
    ) -> Result<(String, String, Vec<u8>), CaseError> {
        let mut conn = self.db().conn().await?;
        let found: Option<(String, String, Vec<u8>)> = run!(conn, |c| sqlx::query_as(RESULT_DOCUMENT)
            .bind(file.as_uuid())
            .bind(case.as_uuid())
            .fetch_optional(&mut *c)
            .await)?;
        found.ok_or(CaseError::NotFound)
    }

    /// The events the applicant took (their supplements' files are theirs to download).
    async fn applicant_events(&self, case: CaseId) -> Result<Vec<crate::CaseEventId>, CaseError> {
        Ok(self
            .history(case)
            .await?
            .into_iter()
            .filter(|e| e.actor_kind == crate::ActorKind::Applicant)
            .map(|e| e.id)
            .collect())
    }

    pub(crate) async fn file_list(&self, case: CaseId) -> Result<Vec<CaseFile>, CaseError> {
        let mut conn = self.db().conn().await?;
        let rows: Vec<CaseFileRow> = run!(conn, |c| sqlx::query_as(
            "SELECT id, event_id, kind, material, file_name, content_type, size, sha256, created_at FROM case_files
             WHERE case_id = $1 ORDER BY created_at, id"
        )
        .bind(case.as_uuid())
        .fetch_all(&mut *c)
        .await)?;
        Ok(rows.into_iter().map(CaseFile::from).collect())
    }

    /// One file's description and bytes, for `access` (staff who may see the case) or for the
    /// applicant (`applicant`: their own case's result documents).
    pub async fn file(
        &self,
        access: &Access,
        applicant: Option<govhall_identity::AccountId>,
        case: CaseId,
        file: CaseFileId,
    ) -> Result<(CaseFile, Vec<u8>), CaseError> {
        let (c, _) = self.load(case).await?;
        let staff_ok = access.covers(Permission::CaseView, &crate::queries::target(&c));
        let owner_ok = match applicant {
            Some(a) => self.applicant_may_see(a, &c).await?,
            None => false,
        };
        if !staff_ok && !owner_ok {
            return Err(CaseError::NotFound);
        }
        let mut conn = self.db().conn().await?;
        let found: Option<(Uuid, Vec<u8>)> =
            run!(conn, |c| sqlx::query_as("SELECT id, content FROM case_files WHERE id = $1 AND case_id = $2")
                .bind(file.as_uuid())
                .bind(case.as_uuid())
                .fetch_optional(&mut *c)
                .await)?;
        let (_, bytes) = found.ok_or(CaseError::NotFound)?;
        drop(conn);
        let meta = self.file_list(case).await?.into_iter().find(|f| f.id == file).ok_or(CaseError::NotFound)?;
        // The applicant gets the result documents and what they gave themselves; working
        // attachments stay with staff.
        if !staff_ok && meta.kind != FileKind::Result && !self.applicant_events(case).await?.contains(&meta.event_id) {
            return Err(CaseError::NotFound);
        }
        Ok((meta, bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_paths_and_tricks_and_take_the_real_type() {
        assert_eq!(stored_name("../../决定书.pdf", "application/pdf"), "决定书.pdf");
        assert_eq!(stored_name("通知书.html", "application/pdf"), "通知书.pdf");
        assert_eq!(stored_name("photo.JPEG", "image/jpeg"), "photo.JPEG");
        assert_eq!(stored_name("结果\u{202E}fdp.exe", "application/pdf"), "结果fdp.pdf");
        assert_eq!(stored_name("C:\\tmp\\a.png", "image/png"), "a.png");
        assert_eq!(stored_name("...", "image/png"), "附件.png");
        assert_eq!(clean_name("a\u{0000}b\"c"), "abc");
    }

    #[test]
    fn content_decides_not_the_name() {
        let file = |name: &str, bytes: &[u8]| NewFile {
            file_name: name.into(),
            bytes: bytes.to_vec(),
            result: true,
            material: String::new(),
        };
        assert!(check(&file("a.pdf", b"%PDF-1.7"), 100).is_ok());
        assert!(check(&file("a.pdf", b"<html>"), 100).is_err());
        assert!(check(&file("a.pdf", b"MZ\x90"), 100).is_err());
        assert!(check(&file("a.zip", b"PK\x03\x04"), 100).is_err(), "a zip is OFD only by name");
        assert!(check(&file("a.pdf", b""), 100).unwrap_err().to_string().contains("空的"));
        assert!(check(&file("a.pdf", &[b'%'; 200]), 100).unwrap_err().to_string().contains("超过"));
    }
}
