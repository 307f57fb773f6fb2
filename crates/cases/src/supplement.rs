//! Requests for more (补齐补正) that name the materials they ask for, and the applicant's
//! answer: each file it carries is for one of them.

use crate::files::NewFile;
use crate::model::Case;
use crate::{CaseError, Cases};
use govhall_db::{Tx, run, sqlx};

/// Most materials one request for more may list.
pub const MAX_REQUESTED: usize = 20;

/// The materials a request lists: cleaned, each named once, at most [`MAX_REQUESTED`] of at most
/// 100 characters.
pub(crate) fn requested_materials(given: &[String]) -> Result<Vec<String>, CaseError> {
    let mut all: Vec<String> = Vec::new();
    for name in given {
        let name = govhall_core::text::clean(name.trim()).trim().to_owned();
        if name.is_empty() || all.contains(&name) {
            continue;
        }
        if name.chars().count() > 100 {
            return Err(CaseError::InvalidInput("所需材料的名称不能超过 100 个字".into()));
        }
        all.push(name);
    }
    if all.len() > MAX_REQUESTED {
        return Err(CaseError::InvalidInput(format!("一次最多列出 {MAX_REQUESTED} 项所需材料")));
    }
    Ok(all)
}

impl Cases {
    /// The materials the request that brought `case` to `step` asked for (the latest move into it).
    pub(crate) async fn requested_at(&self, tx: &mut Tx, case: &Case, step: &str) -> Result<Vec<String>, CaseError> {
        let text: Option<String> = run!(tx, |c| sqlx::query_scalar(
            "SELECT requested FROM case_events WHERE case_id = $1 AND to_step = $2 ORDER BY seq DESC LIMIT 1"
        )
        .bind(case.id.as_uuid())
        .bind(step)
        .fetch_optional(&mut *c)
        .await)?;
        Ok(text.and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default())
    }

    /// An applicant's answer: each file is for one of the requested materials (or, when the
    /// request listed none, for none).
    pub(crate) async fn check_supplement(
        &self,
        tx: &mut Tx,
        case: &Case,
        step: &str,
        files: &[NewFile],
    ) -> Result<(), CaseError> {
        if files.is_empty() {
            return Ok(());
        }
        let requested = self.requested_at(tx, case, step).await?;
        for f in files {
            let fits = if requested.is_empty() { f.material.is_empty() } else { requested.contains(&f.material) };
            if !fits {
                let name = crate::files::clean_name(&f.file_name);
                return Err(CaseError::InvalidInput(if requested.is_empty() {
                    format!("文件“{name}”注明的材料“{}”不在补正要求中", f.material)
                } else {
                    format!("请注明文件“{name}”是哪一项要求补正的材料（{}）", requested.join("、"))
                }));
            }
        }
        Ok(())
    }
}
