//! Search speed and memory: `cargo bench -p govhall-search --bench search [-- ITEMS]`.
//!
//! Imports the bundled catalogue (3,397 items) into a temporary SQLite database and builds the
//! index from it; then derives ITEMS (default 100,000) more items from it (other regions,
//! departments and name variants: [`govhall_search::generate`]) and indexes them on disk beside
//! the real ones. For each catalogue it prints the build rate, the p50 / p99 / max of in-process
//! searches (the judged queries, browses and filtered searches, each run many times), and the
//! process's memory. Figures, not assertions: timed tests fail at random on shared machines.

#![expect(clippy::unwrap_used, reason = "a benchmark: failing loudly is fine")]

use govhall_db::{Db, DbOptions, run, sqlx};
use govhall_search::generate::{self, Region};
use govhall_search::{Search, SearchParams, SearchRequest, SearchSettings, eval};
use std::time::{Duration, Instant};

fn memory() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .map_or("?".to_owned(), |kb| format!("{} MiB", kb / 1024))
    };
    format!("RSS {} (peak {})", field("VmRSS:"), field("VmHWM:"))
}

/// The queries: every judged query, browses, and filtered searches.
fn workload() -> Vec<SearchRequest> {
    let mut queries: Vec<SearchRequest> = eval::read_tsv(include_str!("../eval/dev.tsv"))
        .unwrap()
        .into_iter()
        .map(|j| SearchRequest::text(&j.query))
        .collect();
    for p in [
        SearchParams { q: "许可".into(), audience: "enterprise".into(), ..SearchParams::default() },
        SearchParams { q: "证明".into(), level: "county".into(), depth: "3".into(), ..SearchParams::default() },
        SearchParams { q: "".into(), sort: "newest".into(), ..SearchParams::default() },
        SearchParams { q: "登记".into(), region: "440000".into(), page: "3".into(), ..SearchParams::default() },
        SearchParams { q: "材料".into(), category: "documents".into(), ..SearchParams::default() },
    ] {
        queries.push(SearchRequest::from_params(&p).unwrap());
    }
    queries
}

/// p50, p99, max of `times` in milliseconds.
fn percentiles(mut times: Vec<Duration>) -> String {
    times.sort();
    let at = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)].as_secs_f64() * 1e3;
    format!("{} searches: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms", times.len(), at(0.5), at(0.99), at(1.0))
}

fn report(label: &str, search: &Search, rounds: usize) {
    let (items, departments, documents) = search.size();
    let queries = workload();
    // Each search the first time (nothing remembered of it), then the mix again and again as
    // a portal sees it (the facet tallies of a search are remembered until the index changes).
    let mut first = Vec::new();
    for q in &queries {
        let started = Instant::now();
        std::hint::black_box(search.search(q).unwrap());
        first.push(started.elapsed());
    }
    let mut again = Vec::new();
    for _ in 0..rounds {
        for q in &queries {
            let started = Instant::now();
            std::hint::black_box(search.search(q).unwrap());
            again.push(started.elapsed());
        }
    }
    println!("{label}: {items} items, {departments} departments, {documents} documents; {}", memory());
    println!("  first time: {}", percentiles(first));
    println!("  repeated:   {}", percentiles(again));
}

#[tokio::main]
async fn main() {
    let derived: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(&DbOptions::new(None, dir.path().to_path_buf())).await.unwrap();
    db.migrate().await.unwrap();
    govhall_identity::regions::ensure_imported(&db).await.unwrap();
    govhall_catalog::taxonomy::ensure_defaults(&db).await.unwrap();
    govhall_catalog::import::ensure_imported(&db).await.unwrap();
    println!("start: {}", memory());

    // The real catalogue, from the database, in memory.
    let memory_index = SearchSettings { index_dir: ":memory:".into(), ..SearchSettings::default() };
    let position = govhall_db::changes::latest_seq(&db).await.unwrap();
    let search = Search::open(db.clone(), &memory_index, dir.path(), position).await.unwrap();
    let started = Instant::now();
    let count = search.rebuild(position, &|_, _| {}).await.unwrap();
    let took = started.elapsed();
    println!(
        "build (real catalogue, from the database): {count} items in {:.2} s = {:.0} items/s",
        took.as_secs_f64(),
        count as f64 / took.as_secs_f64()
    );
    report("real catalogue", &search, 20);
    drop(search);

    // A derived catalogue, on disk as a node keeps it.
    let base = eval::all_items(&db).await.unwrap();
    let mut conn = db.conn().await.unwrap();
    let rows: Vec<(String, String, String)> =
        run!(conn, |c| sqlx::query_as("SELECT code, name, full_name FROM regions WHERE level >= 1 ORDER BY code")
            .fetch_all(&mut *c)
            .await)
        .unwrap();
    drop(conn);
    let regions: Vec<Region> =
        rows.into_iter().map(|(code, name, full_name)| Region { code, name, full_name }).collect();
    let items = generate::derive(&base, &regions, derived);
    drop(base);
    let disk =
        SearchSettings { index_dir: dir.path().join("index").to_str().unwrap().into(), ..SearchSettings::default() };
    let search = Search::open(db.clone(), &disk, dir.path(), position).await.unwrap();
    let started = Instant::now();
    let documents = search.add_items(items).await.unwrap();
    let took = started.elapsed();
    println!(
        "build (derived catalogue): {derived} items ({documents} documents with their materials) in {:.2} s = {:.0} items/s",
        took.as_secs_f64(),
        derived as f64 / took.as_secs_f64()
    );
    let size: u64 = std::fs::read_dir(dir.path().join("index"))
        .unwrap()
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();
    println!("index on disk: {} MiB", size / (1024 * 1024));
    report(&format!("real + {derived} derived"), &search, 5);
    if std::env::var("SEARCH_BENCH_SLOWEST").is_ok() {
        let mut slow: Vec<(Duration, String)> = workload()
            .iter()
            .map(|q| {
                let started = Instant::now();
                search.search(q).unwrap();
                (started.elapsed(), format!("{q:?}").chars().take(60).collect())
            })
            .collect();
        slow.sort();
        for (t, q) in slow.iter().rev().take(15) {
            println!("  {:.1} ms  {q}", t.as_secs_f64() * 1e3);
        }
    }
    db.close().await;
}
