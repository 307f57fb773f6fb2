//! Importing the bundled real catalogues: Guangdong's (datasets/catalog/gd-items.jsonl) and a
//! Sichuan county's (datasets/catalog/sc-guangan-items.js).
//!
//! A run reads every line first, reporting each it rejects with its reason; then writes every
//! accepted item in one transaction, so a failure leaves the catalogue as it was. Running twice
//! changes nothing: an item whose guide equals its published version is left alone; one that
//! differs gets a new published version.

pub mod gd;
pub mod sc;

use crate::model::ItemContent;
use crate::store;
use crate::{CatalogError, taxonomy};
use govhall_audit::{self as audit, Actor, Event};
use govhall_db::sqlx;
use govhall_db::{Db, exec, run};
use std::collections::HashMap;
use uuid::Uuid;

/// The bundled Guangdong catalogue.
pub const GD_BUNDLED: &str = include_str!("../../../../datasets/catalog/gd-items.jsonl");
/// The bundled Sichuan (广安区) catalogue.
pub const SC_BUNDLED: &str = include_str!("../../../../datasets/catalog/sc-guangan-items.js");

/// One item read from a source, ready to be written.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// Where in the file (line, or position for the Sichuan file).
    pub line: usize,
    /// The item code, kept exactly.
    pub code: String,
    /// The implementing department's name.
    pub department: String,
    /// Its region's division code.
    pub region_code: String,
    /// The guide.
    pub content: ItemContent,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// The source (`gd`, `sc`).
    pub source: String,
    /// Items read.
    pub read: usize,
    /// Items new to the catalogue.
    pub created: usize,
    /// Items whose guide changed (a new published version).
    pub updated: usize,
    /// Items already as the source says.
    pub unchanged: usize,
    /// Lines rejected, with the reason in Chinese.
    pub rejected: Vec<(usize, String)>,
}

impl Report {
    /// One line for people.
    pub fn summary(&self) -> String {
        format!(
            "{}：读取 {} 条，新增 {}，更新 {}，未变 {}，拒绝 {}",
            source_label(&self.source),
            self.read,
            self.created,
            self.updated,
            self.unchanged,
            self.rejected.len()
        )
    }
}

/// The Chinese name of a source.
pub fn source_label(source: &str) -> &'static str {
    match source {
        "gd" => "广东省事项目录",
        "sc" => "四川省广安区事项目录",
        _ => "本地",
    }
}

/// Writes `candidates` of `source` in one transaction; `progress(done, total)` is called as it goes.
pub async fn write(
    db: &Db,
    source: &str,
    candidates: Vec<Candidate>,
    mut report: Report,
    mut progress: impl FnMut(usize, usize),
) -> Result<Report, CatalogError> {
    let mut conn = db.conn().await?;
    let existing: Vec<(String, Uuid, Option<String>)> = run!(conn, |c| {
        sqlx::query_as(
            "SELECT i.code, i.id, v.content FROM items i
             LEFT JOIN item_versions v ON v.item_id = i.id AND v.status = 'published'",
        )
        .fetch_all(&mut *c)
        .await
    })?;
    drop(conn);
    let existing: HashMap<String, (Uuid, Option<String>)> =
        existing.into_iter().map(|(code, id, content)| (code, (id, content))).collect();
    let total = candidates.len();
    let mut tx = db.begin().await?;
    let mut departments: HashMap<(String, String), Uuid> = HashMap::new();
    let mut written: Vec<(Uuid, &Candidate)> = Vec::new();
    for (done, candidate) in candidates.iter().enumerate() {
        let json = serde_json::to_string(&candidate.content).map_err(|e| CatalogError::Invalid(e.to_string()))?;
        let by = format!("导入：{}", source_label(source));
        let importer = Actor::system(&by);
        match existing.get(&candidate.code) {
            Some((_, Some(published))) if *published == json => report.unchanged += 1,
            Some((id, _)) => {
                let version = store::add_version(&mut tx, *id, &candidate.content, "in_review", &importer, "").await?;
                store::publish(&mut tx, *id, &candidate.code, version, &candidate.content, &by).await?;
                written.push((*id, candidate));
                report.updated += 1;
            }
            None => {
                let key = (candidate.department.clone(), candidate.region_code.clone());
                let department = match departments.get(&key) {
                    Some(d) => *d,
                    None => {
                        let d = govhall_identity::departments::ensure_in(&mut tx, &key.0, &key.1).await?.as_uuid();
                        departments.insert(key, d);
                        d
                    }
                };
                let id = store::insert_item(
                    &mut tx,
                    &candidate.code,
                    source,
                    department,
                    &candidate.region_code,
                    &candidate.content,
                )
                .await?;
                let version = store::add_version(&mut tx, id, &candidate.content, "in_review", &importer, "").await?;
                store::publish(&mut tx, id, &candidate.code, version, &candidate.content, &by).await?;
                written.push((id, candidate));
                report.created += 1;
            }
        }
        if (done + 1) % 250 == 0 || done + 1 == total {
            progress(done + 1, total);
        }
    }
    // Related items may name items written later in the run: link them once all exist.
    for (id, candidate) in &written {
        if !candidate.content.related.is_empty() {
            store::set_relations(&mut tx, *id, &candidate.content.related).await?;
        }
    }
    let actor = Actor::system("导入");
    audit::record(&mut tx, &actor, Event::success("catalog.import", "catalog", source).detail(report.summary()))
        .await?;
    tx.commit().await?;
    Ok(report)
}

/// Imports a Guangdong file (JSON lines).
pub async fn import_gd(db: &Db, text: &str, progress: impl FnMut(usize, usize)) -> Result<Report, CatalogError> {
    let mapping = taxonomy::MappingTable::load(db).await?;
    let (candidates, report) = gd::parse(text, &mapping);
    write(db, "gd", candidates, report, progress).await
}

/// Imports a Sichuan file (the JavaScript with one JSON array).
pub async fn import_sc(db: &Db, text: &str, progress: impl FnMut(usize, usize)) -> Result<Report, CatalogError> {
    let mapping = taxonomy::MappingTable::load(db).await?;
    let (candidates, report) = sc::parse(text, &mapping)?;
    write(db, "sc", candidates, report, progress).await
}

/// Imports both bundled catalogues if the catalogue is empty (the first start).
pub async fn ensure_imported(db: &Db) -> Result<Vec<Report>, CatalogError> {
    let mut conn = db.conn().await?;
    // Nodes starting together on one PostgreSQL take turns: the first imports, the others then
    // find the catalogue there (the lock is the session's, released below or when the
    // connection closes).
    if db.backend() == govhall_db::Backend::Postgres {
        exec!(conn, sqlx::query("SELECT pg_advisory_lock(7266150592)"))?;
    }
    let imported = async {
        let known: i64 = run!(conn, |c| sqlx::query_scalar("SELECT COUNT(*) FROM items").fetch_one(&mut *c).await)?;
        if known > 0 {
            return Ok(Vec::new());
        }
        let gd = import_gd(db, GD_BUNDLED, |_, _| {}).await?;
        let sc = import_sc(db, SC_BUNDLED, |_, _| {}).await?;
        tracing::info!(gd = %gd.summary(), sc = %sc.summary(), "imported the bundled catalogues");
        Ok(vec![gd, sc])
    }
    .await;
    if db.backend() == govhall_db::Backend::Postgres {
        exec!(conn, sqlx::query("SELECT pg_advisory_unlock(7266150592)"))?;
    }
    imported
}

/// "无" and blanks mean nothing.
pub(crate) fn text(value: Option<&serde_json::Value>) -> String {
    match value.and_then(serde_json::Value::as_str).map(str::trim) {
        None | Some("无") | Some("null") => String::new(),
        Some(s) => s.to_owned(),
    }
}

/// A list field, or a single string, as a list; "无" is empty.
pub(crate) fn list(value: Option<&serde_json::Value>) -> Vec<String> {
    match value {
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(serde_json::Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty() && *s != "无")
            .map(str::to_owned)
            .collect(),
        other => {
            let t = text(other);
            if t.is_empty() { Vec::new() } else { vec![t] }
        }
    }
}

/// Groups of codes that belong together (same catalogue entry): each relates to the others.
pub(crate) fn relate_groups(candidates: &mut [Candidate], groups: &HashMap<String, Vec<usize>>) {
    for members in groups.values() {
        if members.len() < 2 || members.len() > 8 {
            continue;
        }
        for &i in members {
            let related = members
                .iter()
                .filter(|&&j| j != i)
                .map(|&j| crate::model::Related { code: candidates[j].code.clone(), kind: "together".to_owned() })
                .collect();
            candidates[i].content.related = related;
        }
    }
}
