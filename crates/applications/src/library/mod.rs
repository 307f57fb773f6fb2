//! The materials library (材料库, design sections 2.3.4 历史材料复用 and 2.5.3): every file a person
//! or an enterprise gave in a submitted application, and files they add themselves, kept to be
//! given again. In a draft, each material offers the library's files, those of the same kind
//! ([`kinds`](crate::kinds)) first; a file given from the library is referenced, not copied, and
//! the case shows staff where it came from. A person's library is theirs alone; an enterprise's
//! is shared by its members: administrators (管理员) manage it, agents (经办人) use it. Removing
//! a file from the library never takes it from an application that was given it.
//!
//! Here: the model, who may do what, reading. [`manage`]: adding, describing, deleting.
//! [`reuse`]: the choices for a draft, giving a file again, keeping a submission's files.
//! [`results`]: result documents kept when staff file them.

use crate::ids::{AccountId, EnterpriseId};
use crate::model::Application;
use crate::{ApplicationError, Applications};
use chrono::{DateTime, NaiveDate, Utc};
use govhall_db::{Tx, exec, run, sqlx, sqlx::AssertSqlSafe};
use govhall_files::Kind;
use serde::Serialize;
use uuid::Uuid;

mod manage;
mod results;
mod reuse;

govhall_core::define_id!(
    /// A file in a materials library.
    LibraryMaterialId
);

/// Whose library.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Owner {
    /// A person's own.
    Person(AccountId),
    /// An enterprise's, shared by its members.
    Enterprise(EnterpriseId),
}

impl Owner {
    /// The library an application's files belong to: the enterprise's when it is made for one.
    pub fn of(application: &Application) -> Owner {
        match application.enterprise_id {
            Some(e) => Owner::Enterprise(e),
            None => Owner::Person(application.applicant_id),
        }
    }

    fn key(self) -> String {
        match self {
            Owner::Person(a) => format!("p:{a}"),
            Owner::Enterprise(e) => format!("e:{e}"),
        }
    }

    fn parse(key: &str) -> Option<Owner> {
        let (kind, id) = key.split_once(':')?;
        let id = Uuid::parse_str(id).ok()?;
        match kind {
            "p" => Some(Owner::Person(AccountId::from_uuid(id))),
            "e" => Some(Owner::Enterprise(EnterpriseId::from_uuid(id))),
            _ => None,
        }
    }
}

/// What a viewer may do with a library.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Add, rename, recategorise, delete and use (the person; an enterprise's administrator).
    Manage,
    /// See and use in applications (an enterprise's agent).
    Use,
}

/// Where a file in the library came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Given with a submitted application.
    Application,
    /// Added to the library by its owner.
    Added,
    /// A result document (办理结果文书) of one of its cases, kept when staff filed it.
    Result,
}

impl Source {
    fn parse(s: &str) -> Source {
        match s {
            "added" => Source::Added,
            "result" => Source::Result,
            _ => Source::Application,
        }
    }

    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Application => "application",
            Source::Added => "added",
            Source::Result => "result",
        }
    }

    /// Its Chinese name.
    pub fn label(self) -> &'static str {
        match self {
            Source::Application => "办件提交",
            Source::Added => "自行上传",
            Source::Result => "政府结果",
        }
    }
}

/// The categories a library is sorted into; custom ones are named by the owner.
pub const CATEGORIES: [(&str, &str); 3] = [("own", "本人材料"), ("result", "政府结果"), ("other", "其他")];

/// The Chinese name of a stored category.
pub fn category_label(category: &str) -> String {
    match category.strip_prefix("custom:") {
        Some(name) => name.to_owned(),
        None => CATEGORIES.iter().find(|(k, _)| *k == category).map_or("其他", |(_, l)| l).to_owned(),
    }
}

/// A category as typed: one of [`CATEGORIES`]' keys, or a name of one's own.
fn parse_category(typed: &str) -> Result<String, ApplicationError> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Ok("own".into());
    }
    if let Some((key, _)) = CATEGORIES.iter().find(|(k, l)| *k == typed || *l == typed) {
        return Ok((*key).to_owned());
    }
    let name = typed.strip_prefix("custom:").unwrap_or(typed);
    Ok(format!("custom:{}", text("分类名称", name, 20)?))
}

/// A line of text typed by a person: trimmed, not empty, at most `max` characters, without
/// control, direction-override or angle-bracket characters.
fn text(field: &str, value: &str, max: usize) -> Result<String, ApplicationError> {
    let value = value.trim();
    let bad = |c: char| {
        c.is_control()
            || matches!(c, '<' | '>' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
    };
    if value.is_empty() || value.chars().count() > max || value.chars().any(bad) {
        return Err(ApplicationError::InvalidInput(format!(
            "{field}不能为空，不超过 {max} 个字，且不含尖括号、控制字符或文字方向控制符"
        )));
    }
    Ok(value.to_owned())
}

/// A file in a library.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LibraryMaterial {
    /// Id.
    pub id: LibraryMaterialId,
    /// Whose.
    pub owner: Owner,
    /// The kind of material it is (the normalised name).
    pub kind: String,
    /// Its name in the library.
    pub title: String,
    /// `own`, `result`, `other` or `custom:<name>`.
    pub category: String,
    /// Where it came from.
    pub source: Source,
    /// The file's name.
    pub file_name: String,
    /// Its MIME type.
    pub content_type: String,
    /// Its size in bytes.
    pub size: i64,
    /// SHA-256 of its content.
    pub sha256: String,
    /// Where it is in the store.
    #[serde(skip)]
    pub store_key: String,
    /// The last day it is valid, when the document has one.
    pub valid_until: Option<NaiveDate>,
    /// The serial number of the case it was first given with.
    pub from_serial: Option<String>,
    /// When it came into the library.
    pub created_at: DateTime<Utc>,
    /// When it was last given from the library.
    pub last_used_at: Option<DateTime<Utc>>,
}

impl LibraryMaterial {
    /// Whether it is past its validity on `today` (and so cannot be given again).
    pub fn expired(&self, today: NaiveDate) -> bool {
        self.valid_until.is_some_and(|end| today > end)
    }

    /// Its category's Chinese name.
    pub fn category_label(&self) -> String {
        category_label(&self.category)
    }

    /// The file's kind, from its stored MIME type.
    pub fn file_kind(&self) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.content_type() == self.content_type)
    }

    /// Where it came from, as staff read it on the case.
    pub fn provenance(&self) -> String {
        let date = govhall_core::clock::china_date(self.created_at).format("%Y-%m-%d");
        match &self.from_serial {
            Some(serial) => format!("取自材料库：{}（{}，{date}，办件 {serial}）", self.title, self.source.label()),
            None => format!("取自材料库：{}（{}，{date}）", self.title, self.source.label()),
        }
    }
}

#[derive(Debug, sqlx::FromRow)]
struct Row {
    id: Uuid,
    owner_key: String,
    kind: String,
    title: String,
    category: String,
    source: String,
    file_name: String,
    content_type: String,
    size: i64,
    sha256: String,
    store_key: String,
    valid_until: Option<NaiveDate>,
    from_serial: Option<String>,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, owner_key, kind, title, category, source, file_name, content_type, size, sha256, store_key,
    valid_until, from_serial, created_at, last_used_at";

impl Row {
    fn open(self) -> Option<LibraryMaterial> {
        Some(LibraryMaterial {
            id: LibraryMaterialId::from_uuid(self.id),
            owner: Owner::parse(&self.owner_key)?,
            kind: self.kind,
            title: self.title,
            category: self.category,
            source: Source::parse(&self.source),
            file_name: self.file_name,
            content_type: self.content_type,
            size: self.size,
            sha256: self.sha256,
            store_key: self.store_key,
            valid_until: self.valid_until,
            from_serial: self.from_serial,
            created_at: self.created_at,
            last_used_at: self.last_used_at,
        })
    }
}

/// A library as its viewer sees it.
#[derive(Debug, Clone, Serialize)]
pub struct Library {
    /// Whose.
    pub owner: Owner,
    /// The person's or the enterprise's name.
    pub owner_name: String,
    /// What the viewer may do.
    pub role: Role,
    /// Its files, newest first.
    pub materials: Vec<LibraryMaterial>,
    /// Bytes kept.
    pub used_bytes: i64,
    /// Bytes it may keep (files added by hand are refused beyond it).
    pub quota_bytes: u64,
    /// Its electronic licences (证照, kept by the licence registry and given for materials as
    /// such), newest first.
    pub licences: Vec<govhall_licences::Licence>,
}

/// What to keep when a file is added or its description changed.
#[derive(Debug, Clone, Default)]
pub struct Description {
    /// Its name in the library (the file's name when empty on adding).
    pub title: String,
    /// The category: a key of [`CATEGORIES`], its Chinese name, or a name of one's own.
    pub category: String,
    /// The last day it is valid, if the document has one.
    pub valid_until: Option<NaiveDate>,
}

impl Applications {
    /// What `viewer` may do with `owner`'s library; not found when nothing (another person's,
    /// an enterprise they are not, or no longer, an active member of).
    pub async fn library_role(&self, viewer: AccountId, owner: Owner) -> Result<Role, ApplicationError> {
        match owner {
            Owner::Person(a) if a == viewer => Ok(Role::Manage),
            Owner::Person(_) => Err(ApplicationError::LibraryNotFound),
            Owner::Enterprise(e) => match self.identity().membership(e, viewer).await? {
                Some(m) if m.status == "active" && m.role == "admin" => Ok(Role::Manage),
                Some(m) if m.status == "active" => Ok(Role::Use),
                _ => Err(ApplicationError::LibraryNotFound),
            },
        }
    }

    /// The libraries `viewer` may open: their own, then their enterprises'.
    pub async fn libraries(&self, viewer: AccountId) -> Result<Vec<(Owner, String, Role)>, ApplicationError> {
        let me = self.identity().account(viewer).await?;
        let mut all = vec![(Owner::Person(viewer), me.real_name, Role::Manage)];
        for m in self.identity().memberships_of(viewer).await? {
            if m.status == "active" {
                let role = if m.role == "admin" { Role::Manage } else { Role::Use };
                all.push((Owner::Enterprise(EnterpriseId::from_uuid(m.enterprise_id)), m.enterprise_name, role));
            }
        }
        Ok(all)
    }

    /// `owner`'s library, for `viewer`.
    pub async fn library(&self, viewer: AccountId, owner: Owner) -> Result<Library, ApplicationError> {
        let role = self.library_role(viewer, owner).await?;
        let owner_name = match owner {
            Owner::Person(a) => self.identity().account(a).await?.real_name,
            Owner::Enterprise(e) => self.identity().enterprise(e).await?.name,
        };
        let materials = self.library_rows(owner).await?;
        let used_bytes = self.library_usage(owner).await?;
        let licences = self
            .licences()
            .mine(viewer)
            .await
            .map_err(|e| ApplicationError::Internal(e.to_string()))?
            .into_iter()
            .filter(|l| match owner {
                Owner::Person(_) => l.enterprise_id.is_none(),
                Owner::Enterprise(e) => l.enterprise_id == Some(e.as_uuid()),
            })
            .collect();
        let quota_bytes = self.settings().library_quota_bytes;
        Ok(Library { owner, owner_name, role, materials, used_bytes, quota_bytes, licences })
    }

    /// How many files `owner`'s library keeps, the bytes they take and the quota, for `viewer`
    /// (the space's home; others: not found).
    pub async fn library_summary(&self, viewer: AccountId, owner: Owner) -> Result<(i64, i64, u64), ApplicationError> {
        self.library_role(viewer, owner).await?;
        let mut conn = self.db().conn().await?;
        let files: i64 =
            run!(conn, |c| sqlx::query_scalar("SELECT COUNT(*) FROM library_materials WHERE owner_key = $1")
                .bind(owner.key())
                .fetch_one(&mut *c)
                .await)?;
        drop(conn);
        Ok((files, self.library_usage(owner).await?, self.settings().library_quota_bytes))
    }

    async fn library_rows(&self, owner: Owner) -> Result<Vec<LibraryMaterial>, ApplicationError> {
        let sql = format!("SELECT {COLUMNS} FROM library_materials WHERE owner_key = $1 ORDER BY created_at DESC, id");
        let mut conn = self.db().conn().await?;
        let rows: Vec<Row> =
            run!(conn, |c| sqlx::query_as(AssertSqlSafe(sql.clone())).bind(owner.key()).fetch_all(&mut *c).await)?;
        Ok(rows.into_iter().filter_map(Row::open).collect())
    }

    async fn library_usage(&self, owner: Owner) -> Result<i64, ApplicationError> {
        let mut conn = self.db().conn().await?;
        let used: Option<i64> =
            run!(conn, |c| sqlx::query_scalar("SELECT used_bytes FROM library_usage WHERE owner_key = $1")
                .bind(owner.key())
                .fetch_optional(&mut *c)
                .await)?;
        Ok(used.unwrap_or(0))
    }

    /// One file of a library `viewer` may open, with what they may do with it; another's
    /// answers as one that does not exist.
    pub async fn library_material(
        &self,
        viewer: AccountId,
        id: LibraryMaterialId,
    ) -> Result<(LibraryMaterial, Role), ApplicationError> {
        let sql = format!("SELECT {COLUMNS} FROM library_materials WHERE id = $1");
        let mut conn = self.db().conn().await?;
        let row: Option<Row> = run!(conn, |c| sqlx::query_as(AssertSqlSafe(sql.clone()))
            .bind(id.as_uuid())
            .fetch_optional(&mut *c)
            .await)?;
        drop(conn);
        let material = row.and_then(Row::open).ok_or(ApplicationError::LibraryNotFound)?;
        let role = self.library_role(viewer, material.owner).await?;
        Ok((material, role))
    }
}

fn quota_error(quota: u64) -> ApplicationError {
    ApplicationError::Quota(format!(
        "材料库空间已满（上限 {}），请先删除不再需要的材料",
        govhall_files::human_size(quota)
    ))
}

/// Records a file in the library; `false` when the library already has the same content.
async fn insert_in(tx: &mut Tx, m: &LibraryMaterial, by: AccountId) -> Result<bool, ApplicationError> {
    let (account, enterprise) = match m.owner {
        Owner::Person(a) => (Some(a.as_uuid()), None),
        Owner::Enterprise(e) => (None, Some(e.as_uuid())),
    };
    let n = exec!(
        tx,
        sqlx::query(
            "INSERT INTO library_materials (id, owner_key, account_id, enterprise_id, kind, title, category, source,
                file_name, content_type, size, sha256, store_key, valid_until, from_serial, created_by, created_at,
                updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17)
             ON CONFLICT (owner_key, sha256) DO NOTHING"
        )
        .bind(m.id.as_uuid())
        .bind(m.owner.key())
        .bind(account)
        .bind(enterprise)
        .bind(&m.kind)
        .bind(&m.title)
        .bind(&m.category)
        .bind(m.source.as_str())
        .bind(&m.file_name)
        .bind(&m.content_type)
        .bind(m.size)
        .bind(&m.sha256)
        .bind(&m.store_key)
        .bind(m.valid_until)
        .bind(&m.from_serial)
        .bind(by.as_uuid())
        .bind(m.created_at)
    )?;
    Ok(n == 1)
}

/// Registers the library's jobs (result documents kept).
pub(crate) fn register_jobs(applications: Applications, registry: &mut govhall_db::jobs::JobRegistry) {
    results::register(applications, registry);
}

/// Takes the library's usage row (made when missing) until `tx` ends: every transaction that
/// writes a library takes it first, so none waits on another in the opposite order.
async fn lock_usage(tx: &mut Tx, owner: Owner) -> Result<(), ApplicationError> {
    exec!(
        tx,
        sqlx::query("INSERT INTO library_usage (owner_key, used_bytes) VALUES ($1, 0) ON CONFLICT DO NOTHING")
            .bind(owner.key())
    )?;
    exec!(tx, sqlx::query("UPDATE library_usage SET used_bytes = used_bytes WHERE owner_key = $1").bind(owner.key()))?;
    Ok(())
}

/// Adds `bytes` (negative: removes) to the library's usage; with a quota, only when it stays
/// within it (`false` otherwise). One conditional update: uploads at once are counted in turn.
async fn count_in(tx: &mut Tx, owner: Owner, bytes: i64, quota: Option<u64>) -> Result<bool, ApplicationError> {
    exec!(
        tx,
        sqlx::query("INSERT INTO library_usage (owner_key, used_bytes) VALUES ($1, 0) ON CONFLICT DO NOTHING")
            .bind(owner.key())
    )?;
    let limit = quota.map_or(i64::MAX, |q| i64::try_from(q).unwrap_or(i64::MAX));
    let n = exec!(
        tx,
        sqlx::query(
            "UPDATE library_usage SET used_bytes = CASE WHEN used_bytes + $1 < 0 THEN 0 ELSE used_bytes + $1 END
             WHERE owner_key = $2 AND ($1 <= 0 OR used_bytes + $1 <= $3)"
        )
        .bind(bytes)
        .bind(owner.key())
        .bind(limit)
    )?;
    Ok(n == 1)
}
