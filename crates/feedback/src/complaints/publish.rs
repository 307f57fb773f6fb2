//! Publishing answered complaints (凡被受理的投诉披露处理结果): only when the complainant allowed
//! it, only after an answer, and only a text staff checked. The hall proposes the text with what
//! looks like personal data removed — mobile and other phone numbers, ID numbers, e-mail
//! addresses, and the names the complaint's own records hold — and staff correct it before
//! publishing. The public list shows the published texts per department, searchable.

use super::step;
use crate::{Feedback, FeedbackError};
use chrono::{DateTime, Utc};
use govhall_audit::{self as audit, Actor, Event};
use govhall_db::{exec, run, sqlx, sqlx::AssertSqlSafe};
use regex::Regex;
use serde::Serialize;
use std::sync::LazyLock;
use uuid::Uuid;

/// A published complaint.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Published {
    /// Its number.
    pub number: String,
    /// The category.
    pub category: String,
    /// What it was about.
    pub subject_label: String,
    /// The department that answered.
    pub department_name: String,
    /// The complaint as published.
    pub published_body: String,
    /// The answer as published.
    pub published_answer: String,
    /// Made.
    pub created_at: DateTime<Utc>,
    /// Published.
    pub published_at: DateTime<Utc>,
}

static PATTERNS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        r"[0-9]{17}[0-9Xx]",                                  // resident ID numbers
        r"1[3-9][0-9]{9}",                                    // mobile numbers
        r"0[0-9]{2,3}-?[0-9]{7,8}",                           // landlines
        r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+", // e-mail addresses
        r"[0-9]{6,}",                                         // any other long number (accounts, cards)
    ]
    .iter()
    .filter_map(|p| Regex::new(p).ok())
    .collect()
});

/// `text` with what looks like personal data replaced by ＊: the patterns above, and each of
/// `names` (people's names the records hold) wherever it appears.
pub fn redact(text: &str, names: &[String]) -> String {
    let mut out = text.to_owned();
    for name in names.iter().filter(|n| n.chars().count() >= 2) {
        out = out.replace(name.as_str(), &"＊".repeat(name.chars().count()));
    }
    for re in PATTERNS.iter() {
        out = re.replace_all(&out, "＊＊＊").into_owned();
    }
    out
}

impl Feedback {
    /// The text proposed for publishing complaint `id`: its body and answer with personal data
    /// removed (staff check and correct it).
    pub async fn proposed_publication(
        &self,
        access: &govhall_identity::Access,
        id: Uuid,
    ) -> Result<(String, String), FeedbackError> {
        let c = self.complaint_for_staff(access, id).await?;
        let mut names = Vec::new();
        if let Some(account) = c.complainant_id
            && let Ok(a) = self.identity().account(govhall_identity::AccountId::from_uuid(account)).await
        {
            names.push(a.real_name);
        }
        let mut conn = self.db().conn().await?;
        let staff: Vec<String> = run!(conn, |cx| sqlx::query_scalar(
            "SELECT DISTINCT actor_name FROM complaint_events WHERE complaint_id = $1 AND actor_kind = 'staff'"
        )
        .bind(id)
        .fetch_all(&mut *cx)
        .await)?;
        names.extend(staff);
        Ok((redact(&c.body, &names), redact(&c.answer, &names)))
    }

    /// Publishes complaint `id` with the texts staff checked (staff whose `complaint.handle`
    /// reaches it): only an answered or closed complaint whose complainant allowed it.
    pub async fn publish_complaint(
        &self,
        access: &govhall_identity::Access,
        actor: &Actor,
        id: Uuid,
        body: &str,
        answer: &str,
    ) -> Result<(), FeedbackError> {
        let c = self.complaint_for_staff(access, id).await?;
        if !self.handles_complaint(access, &c) {
            return Err(FeedbackError::Forbidden("您没有处理该投诉的权限".into()));
        }
        if !c.publishable {
            return Err(FeedbackError::WrongState("投诉人不同意公开，不能公开".into()));
        }
        if !matches!(c.state.as_str(), "answered" | "closed") {
            return Err(FeedbackError::WrongState("答复后才能公开".into()));
        }
        let body = super::clean(body, 5, 2000, "公开的投诉内容")?;
        let answer = super::clean(answer, 5, 4000, "公开的答复")?;
        // What still looks like personal data is refused: the checked text must not carry it.
        if redact(&body, &[]) != body || redact(&answer, &[]) != answer {
            return Err(FeedbackError::Invalid(
                "公开的内容中仍有电话号码、证件号码或邮箱等个人信息，请删除后再公开".into(),
            ));
        }
        let now = self.db().now();
        let mut tx = self.db().begin().await?;
        exec!(
            tx,
            sqlx::query(
                "UPDATE complaints SET published_body = $1, published_answer = $2, published_at = $3, updated_at = $3
                 WHERE id = $4"
            )
            .bind(&body)
            .bind(&answer)
            .bind(now)
            .bind(id)
        )?;
        step(&mut tx, id, "published", "staff", &actor.label, "", now).await?;
        audit::record(&mut tx, actor, Event::success("complaint.publish", "complaint", &c.number)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Published complaints, newest first, of one department or all, with `q` in their texts.
    pub async fn published_complaints(
        &self,
        department: Option<Uuid>,
        q: &str,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<Published>, FeedbackError> {
        let q: String = q.trim().chars().filter(|c| !matches!(c, '%' | '_' | '\\')).take(50).collect();
        let mut filters = vec!["c.published_at IS NOT NULL".to_owned()];
        if department.is_some() {
            filters.push("c.department_id = $3".into());
        }
        if !q.is_empty() {
            filters.push(format!(
                "(c.published_body LIKE ${n} OR c.published_answer LIKE ${n})",
                n = if department.is_some() { 4 } else { 3 }
            ));
        }
        let sql = format!(
            "SELECT c.number, c.category, c.subject_label, d.name AS department_name, c.published_body,
                c.published_answer, c.created_at, c.published_at
             FROM complaints c JOIN departments d ON d.id = c.department_id
             WHERE {} ORDER BY c.published_at DESC LIMIT $1 OFFSET $2",
            filters.join(" AND ")
        );
        let like = format!("%{q}%");
        let mut conn = self.db().conn().await?;
        Ok(run!(conn, |cx| {
            let mut query = sqlx::query_as(AssertSqlSafe(sql.clone())).bind(limit).bind(offset);
            if let Some(d) = department {
                query = query.bind(d);
            }
            if !q.is_empty() {
                query = query.bind(&like);
            }
            query.fetch_all(&mut *cx).await
        })?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personal_data_is_removed_from_what_is_published() {
        let text = "我是张三，电话13800000101，身份证370102199003071238，邮箱zhang@example.com，座机0531-88881234。";
        let out = redact(text, &["张三".to_owned()]);
        assert_eq!(out, "我是＊＊，电话＊＊＊，身份证＊＊＊，邮箱＊＊＊，座机＊＊＊。");
        assert_eq!(redact("办理时间太长", &[]), "办理时间太长");
    }
}
