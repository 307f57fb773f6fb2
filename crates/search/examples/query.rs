//! Tries queries against the bundled catalogue: `cargo run -p govhall-search --example query --
//! [DATA_DIR] < queries.txt` prints the first five results of each line (the catalogue is imported
//! into DATA_DIR/govhall.db on the first run). A tool for writing judged queries.

use govhall_db::{Db, DbOptions};
use govhall_search::{Search, SearchRequest, SearchSettings};
use std::io::BufRead;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "target/search-example".to_owned()));
    std::fs::create_dir_all(&dir)?;
    let db = Db::connect(&DbOptions::new(None, dir.clone())).await?;
    db.migrate().await?;
    govhall_identity::regions::ensure_imported(&db).await?;
    govhall_catalog::taxonomy::ensure_defaults(&db).await?;
    govhall_catalog::import::ensure_imported(&db).await?;
    let settings = SearchSettings { index_dir: ":memory:".to_owned(), ..SearchSettings::default() };
    let position = govhall_db::changes::latest_seq(&db).await?;
    let search = Search::open(db.clone(), &settings, &dir, position).await?;
    for line in std::io::stdin().lock().lines() {
        let q = line?;
        let mut request = SearchRequest::text(&q);
        request.limit = 5;
        let r = search.search(&request)?;
        println!(
            "## {q}  (total {}, did you mean {:?}, relaxed {}, expanded {:?})",
            r.total, r.did_you_mean, r.relaxed, r.expanded
        );
        for h in r.hits {
            println!("   {}  {}  [{}]", h.code, h.name, h.department);
        }
    }
    db.close().await;
    Ok(())
}
