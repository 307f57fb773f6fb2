//! Administrative divisions (行政区划): province, prefecture, county by their 6-digit codes,
//! imported from the bundled dataset (datasets/regions, the whole country).

use crate::IdentityError;
use govhall_db::sqlx::{self, AssertSqlSafe};
use govhall_db::{Db, exec, run};

/// The bundled dataset, built into the binary so that a fresh node needs no files.
pub const BUNDLED: &str = include_str!("../../../datasets/regions/areacity_ok_data_level3.csv");

/// A region.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Region {
    /// 6-digit division code.
    pub code: String,
    /// Short name (济南).
    pub name: String,
    /// Full name (济南市).
    pub full_name: String,
    /// The region above, if any.
    pub parent_code: Option<String>,
    /// 0 province, 1 prefecture, 2 county.
    pub level: i32,
}

/// Parses the dataset (`id,pid,deep,name,pinyin_prefix,pinyin,ext_id,ext_name`), parents first.
/// Rows "abroad" (code 0) are left out; a code repeated at a lower level (cities without
/// counties such as 东莞, Hong Kong, Macau) is kept once.
pub fn parse(csv_text: &str) -> Result<Vec<Region>, IdentityError> {
    let text = csv_text.trim_start_matches('\u{feff}');
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|e| IdentityError::Import(format!("无法读取表头：{e}")))?.clone();
    let column = |name: &str| {
        headers.iter().position(|h| h == name).ok_or_else(|| IdentityError::Import(format!("缺少列“{name}”")))
    };
    let (id, pid, deep, name, ext_id, ext_name) =
        (column("id")?, column("pid")?, column("deep")?, column("name")?, column("ext_id")?, column("ext_name")?);
    let mut by_id = std::collections::HashMap::new();
    let mut seen = std::collections::HashSet::new();
    let mut regions = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = record.map_err(|e| IdentityError::Import(format!("第 {line} 行无法读取：{e}")))?;
        let get = |c: usize| record.get(c).unwrap_or_default().trim().to_owned();
        if get(ext_id) == "0" {
            // The dataset's "国外" (abroad) rows are not divisions.
            continue;
        }
        let code: String = get(ext_id).chars().take(6).collect();
        if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
            return Err(IdentityError::Import(format!("第 {line} 行的区划代码“{}”不是 12 位数字", get(ext_id))));
        }
        let level: i32 = get(deep)
            .parse()
            .ok()
            .filter(|l| (0..=2).contains(l))
            .ok_or_else(|| IdentityError::Import(format!("第 {line} 行的层级“{}”应为 0、1 或 2", get(deep))))?;
        let parent_code = match get(pid).as_str() {
            "0" | "" => None,
            p => Some(
                by_id
                    .get(p)
                    .cloned()
                    .ok_or_else(|| IdentityError::Import(format!("第 {line} 行的上级“{p}”未在前面出现")))?,
            ),
        };
        if !seen.insert(code.clone()) {
            // A code repeated below (cities without counties, Hong Kong, Macau): the first stands for all.
            by_id.insert(get(id), code);
            continue;
        }
        by_id.insert(get(id), code.clone());
        regions.push(Region { code, name: get(name), full_name: get(ext_name), parent_code, level });
    }
    if regions.is_empty() {
        return Err(IdentityError::Import("文件中没有行政区划".to_owned()));
    }
    Ok(regions)
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Imports regions (new codes added, names of known codes updated); returns how many rows.
pub async fn import(db: &Db, regions: &[Region]) -> Result<usize, IdentityError> {
    let mut tx = db.begin().await?;
    // A few thousand rows: multi-row statements keep this to a handful of round trips.
    for chunk in regions.chunks(400) {
        let values: Vec<String> = chunk
            .iter()
            .map(|r| {
                format!(
                    "({}, {}, {}, {}, {})",
                    quote(&r.code),
                    quote(&r.name),
                    quote(&r.full_name),
                    r.parent_code.as_deref().map_or("NULL".to_owned(), quote),
                    r.level
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO regions (code, name, full_name, parent_code, level) VALUES {}
             ON CONFLICT (code) DO UPDATE SET name = excluded.name, full_name = excluded.full_name",
            values.join(", ")
        );
        exec!(tx, sqlx::query(AssertSqlSafe(sql.clone())))?;
    }
    tx.commit().await?;
    Ok(regions.len())
}

/// Imports the bundled dataset if no region is known yet.
pub async fn ensure_imported(db: &Db) -> Result<(), IdentityError> {
    let mut conn = db.conn().await?;
    let known: i64 = run!(conn, |c| sqlx::query_scalar("SELECT COUNT(*) FROM regions").fetch_one(&mut *c).await)?;
    drop(conn);
    if known == 0 {
        let count = import(db, &parse(BUNDLED)?).await?;
        tracing::info!(count, "imported the bundled administrative divisions");
    }
    Ok(())
}

/// One region.
pub async fn get(db: &Db, code: &str) -> Result<Option<Region>, IdentityError> {
    let mut conn = db.conn().await?;
    Ok(run!(conn, |c| {
        sqlx::query_as("SELECT code, name, full_name, parent_code, level FROM regions WHERE code = $1")
            .bind(code)
            .fetch_optional(&mut *c)
            .await
    })?)
}

/// The regions under `parent` (provinces when `None`), by code.
pub async fn children(db: &Db, parent: Option<&str>) -> Result<Vec<Region>, IdentityError> {
    let mut conn = db.conn().await?;
    Ok(run!(conn, |c| {
        sqlx::query_as(
            "SELECT code, name, full_name, parent_code, level FROM regions
             WHERE ($1 IS NULL AND parent_code IS NULL) OR parent_code = $1 ORDER BY code",
        )
        .bind(parent)
        .fetch_all(&mut *c)
        .await
    })?)
}

/// Every division, by code.
pub async fn all(db: &Db) -> Result<Vec<Region>, IdentityError> {
    let mut conn = db.conn().await?;
    Ok(run!(conn, |c| {
        sqlx::query_as("SELECT code, name, full_name, parent_code, level FROM regions ORDER BY code")
            .fetch_all(&mut *c)
            .await
    })?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_dataset_parses_with_shandong() {
        let regions = parse(BUNDLED).unwrap();
        assert_eq!(regions.len(), 3596, "less the 3 rows abroad and the 40 codes repeated at a lower level");
        let jinan = regions.iter().find(|r| r.code == "370100").unwrap();
        assert_eq!(
            (jinan.full_name.as_str(), jinan.parent_code.as_deref(), jinan.level),
            ("济南市", Some("370000"), 1)
        );
        assert_eq!(regions.iter().filter(|r| r.code.starts_with("37")).count(), 153);
    }

    #[test]
    fn bad_files_name_the_line() {
        let err = parse(
            "id,pid,deep,name,ext_id,ext_name\n37,0,0,山东,370000000000,山东省\n3701,99,1,济南,370100000000,济南市\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("第 3 行"), "{err}");
        let err = parse("id,pid,name\n").unwrap_err();
        assert!(err.to_string().contains("缺少列"), "{err}");
        let err = parse("id,pid,deep,name,ext_id,ext_name\n37,0,0,山东,37x,山东省\n").unwrap_err();
        assert!(err.to_string().contains("第 2 行"), "{err}");
    }
}
