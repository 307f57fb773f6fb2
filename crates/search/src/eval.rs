//! Measuring search quality: judged queries (a TSV file), the metrics (MRR@10, Success@10,
//! nDCG@10) and the misses; and a baseline to compare against, SQLite FTS5 with the trigram
//! tokenizer over the same fields.
//!
//! The file has one query a line: the query, a tab, the relevant item codes separated by
//! commas, each optionally graded `code:2` (default 1); `#` starts a comment line.

use crate::{Search, SearchError, SearchRequest};
use govhall_catalog::store::Indexable;
use govhall_db::sqlx::{self, Row, SqlitePool};
use serde::Serialize;
use std::collections::HashMap;

/// Results looked at.
pub const CUTOFF: usize = 10;

/// A query with its judgements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judged {
    /// The query as a person types it.
    pub query: String,
    /// Relevant item codes with their grade (1 relevant, 2 the best answer …).
    pub relevant: Vec<(String, u8)>,
}

/// Reads judged queries; an error names the line.
pub fn read_tsv(text: &str) -> Result<Vec<Judged>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((query, codes)) = line.split_once('\t') else {
            return Err(format!("第 {} 行应为“查询词<Tab>事项编码,事项编码”", n + 1));
        };
        let mut relevant = Vec::new();
        for code in codes.split(',').map(str::trim).filter(|c| !c.is_empty()) {
            let (code, grade) = match code.rsplit_once(':') {
                Some((c, g)) => (c, g.parse::<u8>().map_err(|_| format!("第 {} 行的等级“{g}”应为数字", n + 1))?),
                None => (code, 1),
            };
            relevant.push((code.to_owned(), grade));
        }
        if query.trim().is_empty() || relevant.is_empty() {
            return Err(format!("第 {} 行缺少查询词或事项编码", n + 1));
        }
        out.push(Judged { query: query.trim().to_owned(), relevant });
    }
    Ok(out)
}

/// A query whose best answer was not first.
#[derive(Debug, Clone, Serialize)]
pub struct Miss {
    /// The query.
    pub query: String,
    /// The rank (1-based) of the first relevant result within the cutoff, if any.
    pub rank: Option<usize>,
    /// The relevant codes.
    pub expected: Vec<String>,
    /// The first three results.
    pub got: Vec<String>,
}

/// The metrics of one system over the judged queries.
#[derive(Debug, Clone, Serialize)]
pub struct Metrics {
    /// The system's name.
    pub system: String,
    /// Queries.
    pub queries: usize,
    /// Mean reciprocal rank of the first relevant result within the cutoff.
    pub mrr: f64,
    /// Share of queries with a relevant result within the cutoff.
    pub success: f64,
    /// Mean normalised discounted cumulative gain within the cutoff.
    pub ndcg: f64,
    /// Queries not answered first, worst first.
    pub misses: Vec<Miss>,
}

/// Scores `rank(query)` (item codes, best first) against `judged`.
pub fn evaluate(system: &str, judged: &[Judged], mut rank: impl FnMut(&str) -> Vec<String>) -> Metrics {
    let (mut mrr, mut success, mut ndcg) = (0.0, 0.0, 0.0);
    let mut misses = Vec::new();
    for j in judged {
        let ranked = rank(&j.query);
        let grades: HashMap<&str, u8> = j.relevant.iter().map(|(c, g)| (c.as_str(), *g)).collect();
        let first = ranked.iter().take(CUTOFF).position(|c| grades.contains_key(c.as_str()));
        if let Some(p) = first {
            mrr += 1.0 / (p as f64 + 1.0);
            success += 1.0;
        }
        let dcg: f64 = ranked
            .iter()
            .take(CUTOFF)
            .enumerate()
            .map(|(i, c)| gain(grades.get(c.as_str()).copied().unwrap_or(0)) / (i as f64 + 2.0).log2())
            .sum();
        let mut ideal: Vec<u8> = j.relevant.iter().map(|(_, g)| *g).collect();
        ideal.sort_unstable_by(|a, b| b.cmp(a));
        let idcg: f64 = ideal.iter().take(CUTOFF).enumerate().map(|(i, g)| gain(*g) / (i as f64 + 2.0).log2()).sum();
        if idcg > 0.0 {
            ndcg += dcg / idcg;
        }
        if first != Some(0) {
            misses.push(Miss {
                query: j.query.clone(),
                rank: first.map(|p| p + 1),
                expected: j.relevant.iter().map(|(c, _)| c.clone()).collect(),
                got: ranked.into_iter().take(3).collect(),
            });
        }
    }
    misses.sort_by_key(|m| std::cmp::Reverse(m.rank.unwrap_or(usize::MAX)));
    let n = judged.len().max(1) as f64;
    Metrics {
        system: system.to_owned(),
        queries: judged.len(),
        mrr: mrr / n,
        success: success / n,
        ndcg: ndcg / n,
        misses,
    }
}

fn gain(grade: u8) -> f64 {
    2f64.powi(i32::from(grade)) - 1.0
}

/// The item codes GovHall's search returns for `query`, best first.
pub fn ranked(search: &Search, query: &str) -> Vec<String> {
    let mut request = SearchRequest::text(query);
    request.limit = CUTOFF;
    search.search(&request).map(|r| r.hits.into_iter().map(|h| h.code).collect()).unwrap_or_default()
}

/// The baseline: the same fields in an in-memory SQLite FTS5 table with the trigram tokenizer.
#[derive(Debug)]
pub struct Fts5Baseline {
    pool: SqlitePool,
}

impl Fts5Baseline {
    /// Loads the items.
    pub async fn new(items: &[Indexable]) -> Result<Fts5Baseline, SearchError> {
        let pool = sqlx::sqlite::SqlitePoolOptions::new().max_connections(1).connect("sqlite::memory:").await?;
        sqlx::query(
            "CREATE VIRTUAL TABLE items USING fts5(code UNINDEXED, name, alias, department, body, tokenize = 'trigram')",
        )
        .execute(&pool)
        .await?;
        let mut tx = pool.begin().await?;
        for x in items {
            let c = &x.content;
            let mut alias = vec![c.short_name.clone()];
            alias.extend(c.phrases.iter().cloned());
            let mut body = vec![c.type_text.clone(), c.place.clone()];
            body.extend(c.conditions.iter().cloned());
            body.extend(c.materials.iter().map(|m| m.name.clone()));
            sqlx::query("INSERT INTO items (code, name, alias, department, body) VALUES ($1, $2, $3, $4, $5)")
                .bind(&x.item.code)
                .bind(&c.name)
                .bind(alias.join(" "))
                .bind(&x.item.department)
                .bind(body.join(" "))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(Fts5Baseline { pool })
    }

    /// The codes FTS5 returns for `query`, best first (bm25 with the name weighted most).
    /// Trigrams need three characters: a shorter word is matched with LIKE (which FTS5 serves
    /// by scanning), the best a plain FTS5 set-up can do with it.
    pub async fn ranked(&self, query: &str) -> Vec<String> {
        let parts: Vec<&str> = query.split_whitespace().collect();
        if parts.is_empty() {
            return Vec::new();
        }
        let rows = if parts.iter().all(|p| p.chars().count() >= 3) {
            let expr =
                parts.iter().map(|p| format!("\"{}\"", p.replace('"', "\"\""))).collect::<Vec<_>>().join(" AND ");
            sqlx::query(
                "SELECT code FROM items WHERE items MATCH $1 ORDER BY bm25(items, 0.0, 10.0, 5.0, 2.0, 1.0) LIMIT 10",
            )
            .bind(expr)
            .fetch_all(&self.pool)
            .await
        } else {
            let mut sql = String::from("SELECT code FROM items WHERE 1 = 1");
            for n in 1..=parts.len() {
                sql.push_str(&format!(
                    " AND (name LIKE ${n} OR alias LIKE ${n} OR department LIKE ${n} OR body LIKE ${n})"
                ));
            }
            sql.push_str(" ORDER BY (name LIKE $1) DESC, length(name) LIMIT 10");
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for p in &parts {
                q = q.bind(format!("%{p}%"));
            }
            q.fetch_all(&self.pool).await
        };
        rows.map(|rows| rows.iter().filter_map(|r| r.try_get::<String, _>(0).ok()).collect()).unwrap_or_default()
    }
}

/// Both systems over the judged queries.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// GovHall's search.
    pub govhall: Metrics,
    /// The FTS5 trigram baseline.
    pub baseline: Metrics,
}

/// Runs the judged queries through `search` and through the baseline built from `items`.
pub async fn compare(search: &Search, items: &[Indexable], judged: &[Judged]) -> Result<Report, SearchError> {
    let govhall = evaluate("GovHall (tantivy + jieba + pinyin)", judged, |q| ranked(search, q));
    let baseline = Fts5Baseline::new(items).await?;
    let mut answers = HashMap::new();
    for j in judged {
        answers.insert(j.query.clone(), baseline.ranked(&j.query).await);
    }
    let baseline = evaluate("SQLite FTS5 trigram", judged, |q| answers.get(q).cloned().unwrap_or_default());
    Ok(Report { govhall, baseline })
}

/// Every published item, for the baseline.
pub async fn all_items(db: &govhall_db::Db) -> Result<Vec<Indexable>, SearchError> {
    let mut out: Vec<Indexable> = Vec::new();
    loop {
        let after = out.last().map(|x| x.item.code.clone()).unwrap_or_default();
        let batch = govhall_catalog::store::indexable(db, &after, None, 1_000).await?;
        if batch.is_empty() {
            return Ok(out);
        }
        out.extend(batch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn judged_files_are_read_and_checked() {
        let judged = read_tsv("# comment\n驾照\tA:2, B\n\njsz\tA\n").unwrap();
        assert_eq!(judged.len(), 2);
        assert_eq!(judged[0].relevant, vec![("A".to_owned(), 2), ("B".to_owned(), 1)]);
        assert_eq!(read_tsv("驾照 A").unwrap_err(), "第 1 行应为“查询词<Tab>事项编码,事项编码”");
        assert!(read_tsv("驾照\tA:x").unwrap_err().contains("等级"));
        assert!(read_tsv("驾照\t").unwrap_err().contains("缺少"));
    }

    #[test]
    fn metrics_follow_their_definitions() {
        let judged = read_tsv("a\tX\nb\tY\nc\tZ:2,W\n").unwrap();
        let answers: HashMap<&str, Vec<String>> = HashMap::from([
            ("a", vec!["X".to_owned()]),
            ("b", vec!["Q".to_owned(), "Y".to_owned()]),
            ("c", vec!["Q".to_owned()]),
        ]);
        let m = evaluate("t", &judged, |q| answers[q].clone());
        assert!((m.mrr - (1.0 + 0.5) / 3.0).abs() < 1e-9);
        assert!((m.success - 2.0 / 3.0).abs() < 1e-9);
        let ndcg_b = (1.0 / 3f64.log2()) / 1.0;
        assert!((m.ndcg - (1.0 + ndcg_b + 0.0) / 3.0).abs() < 1e-9, "{}", m.ndcg);
        assert_eq!(m.misses.len(), 2);
        assert_eq!(m.misses[0].query, "c");
    }
}
