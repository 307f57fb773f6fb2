//! Search over the catalogue (section 2.2 of the design: "the measure of whether the hall is good
//! to use").
//!
//! Each node keeps its own tantivy index ([`index`]), fed terms that [`analysis`] makes: text
//! folded (traditional to simplified, full-width, case), cut by jieba with a government
//! dictionary and the catalogue's own words, character grams, and every pinyin reading full and
//! by initials. A request (`request.rs`) is understood as concepts (`plan.rs`), each matched by
//! its words, grams, pinyin, synonyms ([`rules`], edited by administrators in [`store`]) and
//! corrections from the [`lexicon`]; [`query`] runs it, tallying facets from fast fields
//! (`tally.rs`), and returns hits with highlights, best bets and "did you mean" (`results.rs`).
//!
//! [`Search::follow`] (`follow.rs`) keeps the index current from the change feed; [`Search::rebuild`] makes
//! it again from the database. [`eval`] measures quality against judged queries, beside a SQLite
//! FTS5 baseline; [`generate`] derives large catalogues for benchmarks.

pub mod analysis;
mod counts;
mod error;
pub mod eval;
mod follow;
pub mod generate;
pub mod highlight;
mod index;
pub mod lexicon;
mod plan;
pub mod query;
mod request;
mod results;
pub mod rules;
pub mod schema;
pub mod store;
mod tally;

pub use error::SearchError;
pub use lexicon::Suggestion;
pub use query::{SearchParams, SearchRequest, SearchResults, Sort};
pub use schema::Category;

use analysis::Analyzer;
use govhall_catalog::store::{self as catalog, Indexable};
use govhall_db::Db;
use govhall_db::changes;
use index::NodeIndex;
use lexicon::{Lexicon, LexiconItem};
use query::Labels;
use rules::Rules;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use tantivy::schema::Value;
use tantivy::{IndexWriter, TantivyDocument};

/// Items read from the database at a time when building.
const BATCH: i64 = 1_000;

/// The search part of the configuration (`[search]`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SearchSettings {
    /// Where this node keeps its index; empty: `search` in the data folder; `:memory:` keeps it
    /// in memory (rebuilt at every start).
    pub index_dir: String,
    /// Seconds between writing counted visits and zero-result queries to the database and
    /// re-ranking items whose popularity changed.
    pub flush_seconds: u64,
}

impl Default for SearchSettings {
    fn default() -> Self {
        SearchSettings { index_dir: String::new(), flush_seconds: 60 }
    }
}

/// Search on this node.
#[derive(Debug, Clone)]
pub struct Search {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    db: Db,
    analyzer: Analyzer,
    index: NodeIndex,
    rules: RwLock<Arc<Rules>>,
    lexicon: RwLock<Arc<Lexicon>>,
    labels: RwLock<Arc<Labels>>,
    /// Facet tallies of recent searches.
    tallies: query::TallyCache,
    /// Queries that found nothing, counted until the next flush.
    misses: Mutex<HashMap<String, i64>>,
    /// Guide visits, counted until the next flush.
    visits: Mutex<HashMap<String, i64>>,
    /// Who visited what today (a visitor counts once a day per item).
    seen: Mutex<(chrono::NaiveDate, HashSet<(String, String)>)>,
    /// Serialises writers (the follower, rebuilds).
    writing: tokio::sync::Mutex<()>,
    settings: SearchSettings,
}

fn read<T>(lock: &RwLock<Arc<T>>) -> Arc<T> {
    lock.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
}

fn replace<T>(lock: &RwLock<Arc<T>>, value: T) {
    *lock.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(value);
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Search {
    /// Opens this node's index (in `data_dir/search` unless configured), installs the default
    /// synonyms, and brings the index up to the change feed's position `position`: an intact
    /// index replays the changes after its last commit; a missing, damaged or outdated one, or
    /// one behind a pruned feed, is rebuilt.
    pub async fn open(
        db: Db,
        settings: &SearchSettings,
        data_dir: &std::path::Path,
        position: i64,
    ) -> Result<Search, SearchError> {
        store::ensure_defaults(&db).await?;
        let dir: Option<PathBuf> = match settings.index_dir.as_str() {
            ":memory:" => None,
            "" => Some(index::default_dir(data_dir)),
            other => Some(PathBuf::from(other)),
        };
        let index =
            tokio::task::spawn_blocking(move || NodeIndex::open(dir.as_deref())).await.map_err(task_failed)??;
        let opened_at = index.opened_at;
        let search = Search {
            inner: Arc::new(Inner {
                db,
                analyzer: Analyzer::new(),
                index,
                rules: RwLock::default(),
                lexicon: RwLock::default(),
                labels: RwLock::default(),
                tallies: query::TallyCache::default(),
                misses: Mutex::default(),
                visits: Mutex::default(),
                seen: Mutex::new((chrono::NaiveDate::MIN, HashSet::new())),
                writing: tokio::sync::Mutex::new(()),
                settings: settings.clone(),
            }),
        };
        search.reload_rules().await?;
        let oldest = changes::oldest_seq(&search.inner.db).await?;
        match opened_at {
            // An index ahead of the feed belongs to another database (a restore): rebuild.
            Some(at) if at <= position && oldest.is_none_or(|o| o <= at + 1) => {
                search.relearn().await?;
                search.catch_up(at, position).await?;
            }
            _ => {
                search.rebuild(position, &|_, _| {}).await?;
            }
        }
        Ok(search)
    }

    /// Replays the item changes after `from` up to `to`.
    async fn catch_up(&self, from: i64, to: i64) -> Result<(), SearchError> {
        let mut at = from;
        let mut codes = HashSet::new();
        loop {
            let batch = changes::after(&self.inner.db, at, 1_000).await?;
            let Some(last) = batch.last() else { break };
            at = last.seq;
            for change in batch.into_iter().filter(|c| c.seq <= to) {
                if change.entity == "item" {
                    codes.insert(change.entity_id);
                }
            }
            if at >= to {
                break;
            }
        }
        if codes.len() > 500 {
            // Cheaper to read everything in code order than item by item.
            self.rebuild(to, &|_, _| {}).await?;
        } else if !codes.is_empty() || from != to {
            let codes: Vec<String> = codes.into_iter().collect();
            self.reindex(&codes, to).await?;
        }
        Ok(())
    }

    /// Makes the index again from the database: every published item, its materials, every
    /// department. `progress(done, total)` is told as items go in. Searches see the old index
    /// until the new one is committed. Returns how many items went in.
    pub async fn rebuild(&self, position: i64, progress: &(dyn Fn(usize, usize) + Sync)) -> Result<usize, SearchError> {
        let _writing = self.inner.writing.lock().await;
        let db = &self.inner.db;
        let total = count_published(db).await?;
        let popularity = store::popularity(db).await?;
        let departments = catalog::departments(db).await?;
        // `None` says everything was read: without it the writer rolls back, so that a failed
        // read never commits a partial index.
        let (tx, rx) = std::sync::mpsc::sync_channel::<Option<Vec<Indexable>>>(2);
        let inner = self.inner.clone();
        let writer = tokio::task::spawn_blocking(move || -> Result<usize, SearchError> {
            let f = inner.index.fields;
            let mut count = 0;
            inner.index.write(position, |w: &IndexWriter| {
                w.delete_all_documents()?;
                for d in &departments {
                    w.add_document(schema::department_doc(&f, &inner.analyzer, d))?;
                }
                loop {
                    let batch = match rx.recv() {
                        Ok(Some(batch)) => batch,
                        Ok(None) => break,
                        Err(_) => {
                            return Err(tantivy::TantivyError::SystemError("读取事项中断，索引未更改".to_owned()));
                        }
                    };
                    for x in &batch {
                        let p = popularity.get(&x.item.code).copied().unwrap_or(0);
                        for doc in schema::item_docs(&f, &inner.analyzer, x, p) {
                            w.add_document(doc)?;
                        }
                    }
                    count += batch.len();
                }
                Ok(())
            })?;
            Ok(count)
        });
        let mut after = String::new();
        let mut read = 0;
        let reading: Result<(), SearchError> = async {
            loop {
                let batch = catalog::indexable(db, &after, None, BATCH).await?;
                let Some(last) = batch.last() else { break };
                after = last.item.code.clone();
                read += batch.len();
                progress(read, total.max(read));
                if tx.send(Some(batch)).is_err() {
                    break;
                }
            }
            Ok(())
        }
        .await;
        if reading.is_ok() {
            let _ = tx.send(None);
        }
        drop(tx);
        let written = writer.await.map_err(task_failed)?;
        reading?;
        let count = written?;
        self.relearn().await?;
        Ok(count)
    }

    /// Indexes again the items with `codes` (a code no longer published is removed) and the
    /// departments, and commits at feed position `position`.
    pub async fn reindex(&self, codes: &[String], position: i64) -> Result<(), SearchError> {
        let _writing = self.inner.writing.lock().await;
        let db = &self.inner.db;
        let mut items = Vec::new();
        for code in codes {
            items.extend(catalog::indexable(db, "", Some(code), 1).await?);
        }
        let popularity = store::popularity(db).await?;
        let departments = catalog::departments(db).await?;
        let inner = self.inner.clone();
        let codes = codes.to_vec();
        tokio::task::spawn_blocking(move || -> Result<(), SearchError> {
            let f = inner.index.fields;
            inner.index.write(position, |w: &IndexWriter| {
                for code in &codes {
                    w.delete_term(inner.index.code_term(code));
                }
                for x in &items {
                    let p = popularity.get(&x.item.code).copied().unwrap_or(0);
                    for doc in schema::item_docs(&f, &inner.analyzer, x, p) {
                        w.add_document(doc)?;
                    }
                }
                w.delete_term(inner.index.kind_term("department"));
                for d in &departments {
                    w.add_document(schema::department_doc(&f, &inner.analyzer, d))?;
                }
                Ok(())
            })?;
            Ok(())
        })
        .await
        .map_err(task_failed)??;
        self.relearn().await
    }

    /// Adds items that are not in the database (derived catalogues for benchmarks) and returns
    /// how many documents went in.
    pub async fn add_items(&self, items: Vec<Indexable>) -> Result<usize, SearchError> {
        let _writing = self.inner.writing.lock().await;
        let inner = self.inner.clone();
        let position = inner.index.opened_at.unwrap_or(0);
        let added = tokio::task::spawn_blocking(move || -> Result<usize, SearchError> {
            let f = inner.index.fields;
            let mut added = 0;
            inner.index.write(position, |w: &IndexWriter| {
                for x in &items {
                    for doc in schema::item_docs(&f, &inner.analyzer, x, 0) {
                        w.add_document(doc)?;
                        added += 1;
                    }
                }
                Ok(())
            })?;
            Ok(added)
        })
        .await
        .map_err(task_failed)??;
        self.relearn().await?;
        Ok(added)
    }

    /// Rebuilds the lexicon and the facet labels from the last commit, teaches the word cutter
    /// the catalogue's words, then lets searches see that commit.
    async fn relearn(&self) -> Result<(), SearchError> {
        let tags = catalog::tag_labels(&self.inner.db).await?;
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || -> Result<(), SearchError> {
            let f = inner.index.fields;
            // What was just committed, before searches see it: they then see both at once.
            let searcher = inner.index.latest()?;
            let mut items = Vec::new();
            let mut departments = Vec::new();
            let mut labels = Labels::default();
            for tag in tags {
                labels.names.insert(format!("tag:{}", tag.id), tag.name);
            }
            // Region facets count a region and everything below it: name every level.
            for region in govhall_identity::regions::parse(govhall_identity::regions::BUNDLED).unwrap_or_default() {
                labels.names.insert(format!("region:{}", region.code), region.full_name);
            }
            for segment in searcher.segment_readers() {
                let store = segment.get_store_reader(64).map_err(tantivy::TantivyError::from)?;
                for id in segment.doc_ids_alive() {
                    let doc: TantivyDocument = store.get(id)?;
                    let text = |field| doc.get_first(field).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
                    match text(f.kind).as_str() {
                        "item" => {
                            let aliases = text(f.aliases);
                            inner.analyzer.add_words(aliases.lines().chain([text(f.title).as_str()]));
                            items.push(LexiconItem {
                                code: text(f.code),
                                name: text(f.title),
                                aliases: aliases.lines().map(str::to_owned).collect(),
                                popularity: doc.get_first(f.popularity).and_then(|v| v.as_u64()).unwrap_or(0),
                            });
                            labels.names.insert(format!("region:{}", last_region(&doc, f.region)), text(f.region_name));
                        }
                        "department" => {
                            labels.names.insert(format!("dept:{}", text(f.department_id)), text(f.title));
                            inner.analyzer.add_words([text(f.title).as_str()]);
                            departments.push(text(f.title));
                        }
                        _ => {}
                    }
                }
            }
            let lexicon = Lexicon::build(&inner.analyzer, &items, &departments);
            replace(&inner.lexicon, lexicon);
            replace(&inner.labels, labels);
            inner.index.publish()?;
            Ok(())
        })
        .await
        .map_err(task_failed)?
    }

    /// Reads the synonyms and best bets again.
    pub async fn reload_rules(&self) -> Result<(), SearchError> {
        let groups = store::synonyms(&self.inner.db).await?;
        let bets = store::best_bets(&self.inner.db).await?;
        // Synonyms are the government's words too: keep them whole when cutting.
        self.inner.analyzer.add_words(groups.iter().flat_map(|g| g.words()));
        replace(&self.inner.rules, Rules::new(&groups, &bets));
        self.inner.tallies.clear();
        Ok(())
    }

    /// Runs a search over the last published commit with the rules and lexicon of the moment.
    fn run(&self, request: &SearchRequest) -> Result<SearchResults, SearchError> {
        let searcher = self.inner.index.searcher();
        let (rules, lexicon, labels) = (read(&self.inner.rules), read(&self.inner.lexicon), read(&self.inner.labels));
        let cx = query::Context {
            tallies: &self.inner.tallies,
            searcher: &searcher,
            fields: &self.inner.index.fields,
            analyzer: &self.inner.analyzer,
            rules: &rules,
            lexicon: &lexicon,
            labels: &labels,
        };
        query::run(&cx, request)
    }

    /// Searches. A query that finds nothing at all is counted for the administrators.
    pub fn search(&self, request: &SearchRequest) -> Result<SearchResults, SearchError> {
        let results = self.run(request)?;
        // Only what the words found nothing for: filters that leave nothing are not the
        // catalogue's fault.
        if !results.query.is_empty() && !request.has_filters() && results.counts.iter().all(|(_, n)| *n == 0) {
            let mut misses = lock(&self.inner.misses);
            if misses.len() < 1_000 {
                *misses.entry(results.query.clone()).or_default() += 1;
            }
        }
        Ok(results)
    }

    /// Up to `limit` completions of what is being typed: item names, phrases, departments,
    /// by characters, pinyin or initials; then the best matches of a search.
    pub fn suggest(&self, typed: &str, limit: usize) -> Result<Vec<Suggestion>, SearchError> {
        let folded: String = analysis::normalize(typed).chars().take(query::MAX_QUERY_CHARS).collect();
        if folded.trim().is_empty() {
            return Ok(Vec::new());
        }
        let mut out = read(&self.inner.lexicon).suggest(&folded, limit);
        if out.len() < limit {
            let mut request = SearchRequest::text(&folded);
            request.limit = limit;
            for hit in self.run(&request)?.hits {
                if out.len() >= limit {
                    break;
                }
                if !out.iter().any(|s| s.text == hit.name) {
                    out.push(Suggestion { text: hit.name, code: Some(hit.code) });
                }
            }
        }
        Ok(out)
    }

    /// How many documents of each kind the index holds: (items, departments, documents).
    pub fn size(&self) -> (u64, u64, u64) {
        let searcher = self.inner.index.searcher();
        let count = |kind: &str| {
            let q = tantivy::query::TermQuery::new(
                self.inner.index.kind_term(kind),
                tantivy::schema::IndexRecordOption::Basic,
            );
            searcher.search(&q, &tantivy::collector::Count).map_or(0, |n| n as u64)
        };
        (count("item"), count("department"), count("document"))
    }
}

/// A background task of the index that panicked or was cancelled.
fn task_failed(e: tokio::task::JoinError) -> SearchError {
    tracing::error!(error = %e, "a search index task failed");
    SearchError::invalid("search_index_failed", "搜索索引任务失败，请稍后重试")
}

fn last_region(doc: &TantivyDocument, field: tantivy::schema::Field) -> String {
    doc.get_all(field).filter_map(|v| v.as_str()).last().unwrap_or_default().to_owned()
}

async fn count_published(db: &Db) -> Result<usize, SearchError> {
    let (total, _) = catalog::list(db, &catalog::ItemFilter::default(), 1, 0).await?;
    Ok(usize::try_from(total).unwrap_or(0))
}
