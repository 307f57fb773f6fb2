//! Message templates: stored per code and channel, in Chinese, with named placeholders
//! (minijinja), versioned. Editing makes a new version; a message records the version it used.

use crate::{Channel, MessagingError};
use chrono::{DateTime, Utc};
use govhall_audit::{self as audit, Actor, Event};
use govhall_db::{Db, Target, run};
use minijinja::{Environment, UndefinedBehavior};
use serde_json::Value;
use std::collections::HashMap;
use uuid::Uuid;

/// One version of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// Its id.
    pub id: Uuid,
    /// What it is for, e.g. `case.accepted`, `verification_code`.
    pub code: String,
    /// The channel it is written for.
    pub channel: Channel,
    /// 1, 2, 3 …
    pub version: i32,
    /// Subject (email, inbox).
    pub subject: String,
    /// The body. For webhooks and WeChat it renders to JSON, with values JSON-escaped.
    pub body: String,
    /// Why this version was made.
    pub note: String,
    /// Who made it.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

#[derive(govhall_db::sqlx::FromRow)]
struct Row {
    id: Uuid,
    code: String,
    channel: String,
    version: i32,
    subject: String,
    body: String,
    note: String,
    created_by: String,
    created_at: DateTime<Utc>,
}

impl TryFrom<Row> for Template {
    type Error = MessagingError;
    fn try_from(r: Row) -> Result<Self, MessagingError> {
        Ok(Template {
            id: r.id,
            channel: Channel::parse(&r.channel)
                .ok_or_else(|| MessagingError::Template(format!("未知渠道 {}", r.channel)))?,
            code: r.code,
            version: r.version,
            subject: r.subject,
            body: r.body,
            note: r.note,
            created_by: r.created_by,
            created_at: r.created_at,
        })
    }
}

const COLUMNS: &str = "id, code, channel, version, subject, body, note, created_by, created_at";

/// Whether values are JSON-escaped when rendered into this channel's body.
fn json_body(channel: Channel) -> bool {
    matches!(channel, Channel::Webhook | Channel::Wechat)
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env
}

/// Checks that a template's subject and body compile; returns the placeholders they use.
pub fn check(channel: Channel, subject: &str, body: &str) -> Result<Vec<String>, MessagingError> {
    let env = environment();
    let mut names = Vec::new();
    for (name, source) in [("subject.txt", subject), (if json_body(channel) { "body.json" } else { "body.txt" }, body)]
    {
        let template = env.template_from_named_str(name, source).map_err(|e| {
            MessagingError::Template(format!("第{}行：{}", e.line().unwrap_or(0), e.detail().unwrap_or("语法错误")))
        })?;
        names.extend(template.undeclared_variables(false));
    }
    if body.trim().is_empty() {
        return Err(MessagingError::Template("正文不能为空".to_owned()));
    }
    // A message template stands alone: no other template (nor any file) may be pulled in.
    for source in [subject, body] {
        let statements = source.split("{%").skip(1).map(|s| s.trim_start_matches(['-', '+']).trim_start());
        if statements.into_iter().any(|s| ["include", "extends", "import", "from"].iter().any(|k| s.starts_with(k))) {
            return Err(MessagingError::Template("消息模板不能引用其他模板（include、extends、import）".to_owned()));
        }
    }
    names.sort();
    names.dedup();
    Ok(names)
}

/// Renders a template with `params` (a JSON object). A placeholder without a value is an error
/// that names it, never a blank.
pub fn render(template: &Template, params: &Value) -> Result<(String, String), MessagingError> {
    let placeholders = check(template.channel, &template.subject, &template.body)?;
    let missing: Vec<&str> = placeholders
        .iter()
        .filter(|name| params.get(name.as_str()).is_none_or(Value::is_null))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(MessagingError::MissingPlaceholder(missing.join("、")));
    }
    let env = environment();
    let render_one = |name: &str, source: &str| -> Result<String, MessagingError> {
        env.template_from_named_str(name, source)
            .and_then(|t| t.render(params))
            .map_err(|e| MessagingError::Template(format!("渲染失败（{}）", e.detail().unwrap_or("模板有误"))))
    };
    let subject = render_one("subject.txt", &template.subject)?;
    let body = render_one(if json_body(template.channel) { "body.json" } else { "body.txt" }, &template.body)?;
    if json_body(template.channel) && serde_json::from_str::<Value>(&body).is_err() {
        return Err(MessagingError::Template("模板渲染结果不是有效的 JSON".to_owned()));
    }
    Ok((subject, body))
}

/// This node's copy of the newest version of each template. A copy may be stale (another node
/// made a newer version); [`crate::send`] inserts a message only while no newer version exists,
/// and reads the template again when one does.
#[derive(Debug, Default)]
pub(crate) struct TemplateCache(std::sync::RwLock<HashMap<(String, Channel), Template>>);

impl TemplateCache {
    /// The newest version known here, else read from `conn` (and kept).
    pub(crate) async fn latest(
        &self,
        conn: &mut impl Target,
        code: &str,
        channel: Channel,
    ) -> Result<Option<Template>, MessagingError> {
        let key = (code.to_owned(), channel);
        if let Some(t) = self.0.read().unwrap_or_else(std::sync::PoisonError::into_inner).get(&key) {
            return Ok(Some(t.clone()));
        }
        let found = latest(conn, code, channel).await?;
        if let Some(t) = &found {
            let mut map = self.0.write().unwrap_or_else(std::sync::PoisonError::into_inner);
            if map.len() >= 1_000 {
                map.clear();
            }
            map.insert(key, t.clone());
        }
        Ok(found)
    }

    /// Forgets the copy of `code` for `channel` (a newer version exists).
    pub(crate) fn forget(&self, code: &str, channel: Channel) {
        self.0.write().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&(code.to_owned(), channel));
    }
}

/// The newest version of `code` for `channel`.
pub async fn latest(conn: &mut impl Target, code: &str, channel: Channel) -> Result<Option<Template>, MessagingError> {
    let row: Option<Row> = run!(conn, |c| {
        govhall_db::sqlx::query_as(govhall_db::sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM message_templates WHERE code = $1 AND channel = $2 ORDER BY version DESC LIMIT 1"
        )))
        .bind(code)
        .bind(channel.as_str())
        .fetch_optional(&mut *c)
        .await
    })?;
    row.map(Template::try_from).transpose()
}

/// Every version of `code` for `channel`, newest first.
pub async fn versions(db: &Db, code: &str, channel: Channel) -> Result<Vec<Template>, MessagingError> {
    let mut conn = db.conn().await?;
    let rows: Vec<Row> = run!(conn, |c| {
        govhall_db::sqlx::query_as(govhall_db::sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM message_templates WHERE code = $1 AND channel = $2 ORDER BY version DESC"
        )))
        .bind(code)
        .bind(channel.as_str())
        .fetch_all(&mut *c)
        .await
    })?;
    rows.into_iter().map(Template::try_from).collect()
}

/// The newest version of every template, by code and channel.
pub async fn list_latest(db: &Db) -> Result<Vec<Template>, MessagingError> {
    let mut conn = db.conn().await?;
    let rows: Vec<Row> = run!(conn, |c| {
        govhall_db::sqlx::query_as(govhall_db::sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM message_templates t
             WHERE version = (SELECT MAX(version) FROM message_templates m WHERE m.code = t.code AND m.channel = t.channel)
             ORDER BY code, channel"
        )))
        .fetch_all(&mut *c)
        .await
    })?;
    rows.into_iter().map(Template::try_from).collect()
}

/// What a new version says.
#[derive(Debug, Clone)]
pub struct NewTemplate {
    /// Template code.
    pub code: String,
    /// Channel.
    pub channel: Channel,
    /// Subject.
    pub subject: String,
    /// Body.
    pub body: String,
    /// Why.
    pub note: String,
    /// Who.
    pub created_by: String,
}

/// Saves a new version (1 for a new template), audited as `actor`'s. The template must compile.
pub async fn create_version(db: &Db, new: NewTemplate, actor: &Actor) -> Result<Template, MessagingError> {
    let code = new.code.trim();
    let valid_code = !code.is_empty()
        && code.len() <= 64
        && code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-'));
    if !valid_code {
        return Err(MessagingError::Template("模板代码只能由小写字母、数字和“.”“_”“-”组成，最长64个字符".to_owned()));
    }
    let placeholders = check(new.channel, &new.subject, &new.body)?;
    if code == crate::verification::TEMPLATE && !placeholders.iter().any(|p| p == "code") {
        return Err(MessagingError::Template("验证码模板必须包含 {{ code }}，否则发出的消息里没有验证码".to_owned()));
    }
    let mut tx = db.begin().await?;
    let version: Option<i32> = run!(tx, |c| {
        govhall_db::sqlx::query_scalar("SELECT MAX(version) FROM message_templates WHERE code = $1 AND channel = $2")
            .bind(code)
            .bind(new.channel.as_str())
            .fetch_one(&mut *c)
            .await
    })?;
    let template = Template {
        id: Uuid::now_v7(),
        code: code.to_owned(),
        channel: new.channel,
        version: version.unwrap_or(0) + 1,
        subject: new.subject,
        body: new.body,
        note: new.note,
        created_by: new.created_by,
        created_at: db.now(),
    };
    govhall_db::exec!(
        tx,
        govhall_db::sqlx::query(
            "INSERT INTO message_templates (id, code, channel, version, subject, body, note, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        )
        .bind(template.id)
        .bind(&template.code)
        .bind(template.channel.as_str())
        .bind(template.version)
        .bind(&template.subject)
        .bind(&template.body)
        .bind(&template.note)
        .bind(&template.created_by)
        .bind(template.created_at)
    )?;
    let event = Event::success("message_template.save", "message_template", &template.code)
        .detail(format!("第{}版", template.version));
    audit::record(&mut tx, actor, event).await?;
    tx.commit().await?;
    Ok(template)
}

/// Templates GovHall itself needs, installed when missing (never over an edited version).
pub async fn install_defaults(db: &Db) -> Result<(), MessagingError> {
    let defaults = [
        (
            crate::verification::TEMPLATE,
            Channel::Sms,
            "",
            "您的验证码为{{ code }}，{{ minutes }}分钟内有效，用于{{ purpose }}。如非本人操作，请忽略本短信。",
        ),
        (
            crate::verification::TEMPLATE,
            Channel::Email,
            "验证码：{{ code }}",
            "您好！\n\n您的验证码为 {{ code }}，{{ minutes }} 分钟内有效，用于{{ purpose }}。\n如非本人操作，请忽略本邮件。\n",
        ),
    ];
    for (code, channel, subject, body) in defaults {
        install_default(db, code, channel, subject, body).await?;
    }
    Ok(())
}

/// Installs version 1 of a template another part of GovHall needs, unless some version exists
/// (an administrator's edit is never overwritten). Safe when several nodes start at once.
pub async fn install_default(
    db: &Db,
    code: &str,
    channel: Channel,
    subject: &str,
    body: &str,
) -> Result<(), MessagingError> {
    let mut conn = db.conn().await?;
    if latest(&mut conn, code, channel).await?.is_some() {
        return Ok(());
    }
    drop(conn);
    let new = NewTemplate {
        code: code.to_owned(),
        channel,
        subject: subject.to_owned(),
        body: body.to_owned(),
        note: "系统默认模板".to_owned(),
        created_by: "system".to_owned(),
    };
    match create_version(db, new, &Actor::system("系统默认模板")).await {
        Ok(_) => Ok(()),
        // Another node installed it at the same moment.
        Err(MessagingError::Db(e)) if e.is_unique_violation() => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod guard_tests {
    use super::*;

    #[test]
    fn templates_stand_alone() {
        for body in ["{% include \"/etc/passwd\" %}", "{%- extends \"base\" %}", "{% import \"x\" as y %}"] {
            let err = check(Channel::Sms, "", body).unwrap_err();
            assert!(err.to_string().contains("不能引用其他模板"), "{body}: {err}");
        }
        assert!(check(Channel::Sms, "", "{% if x %}{{ x }}{% endif %}").is_ok());
    }
}
