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
//! [`Search::follow`] (`follow.rs`) keeps the index current from the change feed and checks its
//! files; [`Search::rebuild`] makes it again from the database. Every index file is checked
//! against its checksum as it is read (`checked.rs`); a damaged index, or one a search failed in,
//! is made again rather than searched (`repair.rs`), searches answering
//! [`SearchError::Rebuilding`] meanwhile. [`eval`] measures quality against judged queries,
//! beside a SQLite FTS5 baseline; [`generate`] derives large catalogues for benchmarks.

pub mod analysis;
mod checked;
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
mod repair;
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
use index::{Folder, NodeIndex};
use lexicon::{Lexicon, LexiconItem};
use query::Labels;
use rules::Rules;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
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
    /// Seconds between checks of the index files on disk against their checksums (a damaged
    /// file means the index is made again).
    pub check_seconds: u64,
}

impl Default for SearchSettings {
    fn default() -> Self {
        SearchSettings { index_dir: String::new(), flush_seconds: 60, check_seconds: 600 }
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
    /// Where the index lives, held while the node runs.
    folder: Folder,
    /// The index searched and written; replaced whole when made again after a failure.
    index: RwLock<Arc<NodeIndex>>,
    /// Set when a search failed and the index is being made again: searches are refused
    /// ([`SearchError::Rebuilding`]) rather than answered from it.
    broken: AtomicBool,
    /// Wakes the follower when a search failed.
    failed: tokio::sync::Notify,
    /// When the index was last made again after a search failed.
    repaired_at: Mutex<Option<std::time::Instant>>,
    rules: RwLock<Arc<Rules>>,
    lexicon: RwLock<Arc<Lexicon>>,
    labels: RwLock<Arc<Labels>>,
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
    /// one behind a pruned feed, is rebuilt, as is one that fails while catching up.
    pub async fn open(
        db: Db,
        settings: &SearchSettings,
        data_dir: &std::path::Path,
        position: i64,
    ) -> Result<Search, SearchError> {
        let search = Search::start(db, settings, data_dir, true).await?;
        let opened_at = search.index().opened_at;
        let oldest = changes::oldest_seq(&search.inner.db).await?;
        let ready = match opened_at {
            // An index ahead of the feed belongs to another database (a restore): rebuild.
            Some(at) if at <= position && oldest.is_none_or(|o| o <= at + 1) => {
                let index = search.index();
                match search.relearn(&index).await {
                    Ok(()) => search.catch_up(at, position).await,
                    Err(e) => Err(e),
                }
            }
            _ => search.rebuild(position, &|_, _| {}).await.map(|_| ()),
        };
        match ready {
            Err(e) if e.is_index_failure() => {
                tracing::warn!(error = %e, "the search index failed while opening; making it again");
                search.repair(position).await?;
            }
            other => other?,
        }
        Ok(search)
    }

    /// This node's index made anew and empty, whatever its folder held (nothing of it is read),
    /// for [`Search::rebuild`] to fill: `govhall reindex`.
    pub async fn create(db: Db, settings: &SearchSettings, data_dir: &std::path::Path) -> Result<Search, SearchError> {
        Search::start(db, settings, data_dir, false).await
    }

    async fn start(
        db: Db,
        settings: &SearchSettings,
        data_dir: &std::path::Path,
        keep: bool,
    ) -> Result<Search, SearchError> {
        store::ensure_defaults(&db).await?;
        let dir: Option<PathBuf> = match settings.index_dir.as_str() {
            ":memory:" => None,
            "" => Some(index::default_dir(data_dir)),
            other => Some(PathBuf::from(other)),
        };
        let (folder, index) = tokio::task::spawn_blocking(move || -> Result<(Folder, NodeIndex), SearchError> {
            let folder = Folder::take(dir.as_deref())?;
            let index = if keep { folder.open()? } else { folder.create()? };
            Ok((folder, index))
        })
        .await
        .map_err(task_failed)??;
        let search = Search {
            inner: Arc::new(Inner {
                db,
                analyzer: Analyzer::new(),
                folder,
                index: RwLock::new(Arc::new(index)),
                broken: AtomicBool::new(false),
                failed: tokio::sync::Notify::new(),
                repaired_at: Mutex::new(None),
                rules: RwLock::default(),
                lexicon: RwLock::default(),
                labels: RwLock::default(),
                misses: Mutex::default(),
                visits: Mutex::default(),
                seen: Mutex::new((chrono::NaiveDate::MIN, HashSet::new())),
                writing: tokio::sync::Mutex::new(()),
                settings: settings.clone(),
            }),
        };
        search.reload_rules().await?;
        Ok(search)
    }

    /// The index of the moment.
    fn index(&self) -> Arc<NodeIndex> {
        read(&self.inner.index)
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
        self.fill(&self.index(), position, progress).await
    }

    /// Makes `target` hold everything (the writing lock held), then learns from it and lets
    /// it be searched.
    async fn fill(
        &self,
        target: &Arc<NodeIndex>,
        position: i64,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<usize, SearchError> {
        let db = &self.inner.db;
        let total = count_published(db).await?;
        let popularity = store::popularity(db).await?;
        let departments = catalog::departments(db).await?;
        // `None` says everything was read: without it the writer rolls back, so that a failed
        // read never commits a partial index.
        let (tx, rx) = std::sync::mpsc::sync_channel::<Option<Vec<Indexable>>>(2);
        let inner = self.inner.clone();
        let index = target.clone();
        let writer = tokio::task::spawn_blocking(move || -> Result<usize, SearchError> {
            let f = index.fields;
            let mut count = 0;
            index.write(position, |w: &IndexWriter| {
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
        self.relearn(target).await?;
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
        let index = self.index();
        let target = index.clone();
        let codes = codes.to_vec();
        tokio::task::spawn_blocking(move || -> Result<(), SearchError> {
            let f = index.fields;
            index.write(position, |w: &IndexWriter| {
                for code in &codes {
                    w.delete_term(index.code_term(code));
                }
                for x in &items {
                    let p = popularity.get(&x.item.code).copied().unwrap_or(0);
                    for doc in schema::item_docs(&f, &inner.analyzer, x, p) {
                        w.add_document(doc)?;
                    }
                }
                w.delete_term(index.kind_term("department"));
                for d in &departments {
                    w.add_document(schema::department_doc(&f, &inner.analyzer, d))?;
                }
                Ok(())
            })?;
            Ok(())
        })
        .await
        .map_err(task_failed)??;
        self.relearn(&target).await
    }

    /// Adds items that are not in the database (derived catalogues for benchmarks) and returns
    /// how many documents went in.
    pub async fn add_items(&self, items: Vec<Indexable>) -> Result<usize, SearchError> {
        let _writing = self.inner.writing.lock().await;
        let inner = self.inner.clone();
        let index = self.index();
        let target = index.clone();
        let position = index.opened_at.unwrap_or(0);
        let added = tokio::task::spawn_blocking(move || -> Result<usize, SearchError> {
            let f = index.fields;
            let mut added = 0;
            index.write(position, |w: &IndexWriter| {
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
        self.relearn(&target).await?;
        Ok(added)
    }

    /// Rebuilds the lexicon and the facet labels from the last commit of `index`, teaches the
    /// word cutter the catalogue's words, then lets searches see that commit.
    async fn relearn(&self, index: &Arc<NodeIndex>) -> Result<(), SearchError> {
        let tags = catalog::tag_labels(&self.inner.db).await?;
        let inner = self.inner.clone();
        let index = index.clone();
        tokio::task::spawn_blocking(move || -> Result<(), SearchError> {
            let f = index.fields;
            // What was just committed, before searches see it: they then see both at once.
            let searcher = index.latest()?;
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
            index.publish()?;
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
        self.index().tallies.clear();
        Ok(())
    }

    /// Runs a search over the last published commit with the rules and lexicon of the moment.
    /// What fails in the index, or panics in the library, is not answered from it: the follower
    /// is told (it makes the index again) and the search answers [`SearchError::Rebuilding`].
    fn run(&self, request: &SearchRequest) -> Result<SearchResults, SearchError> {
        if self.inner.broken.load(Ordering::Acquire) {
            return Err(SearchError::Rebuilding);
        }
        let index = self.index();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let searcher = index.searcher();
            let (rules, lexicon, labels) =
                (read(&self.inner.rules), read(&self.inner.lexicon), read(&self.inner.labels));
            let cx = query::Context {
                tallies: &index.tallies,
                searcher: &searcher,
                fields: &index.fields,
                analyzer: &self.inner.analyzer,
                rules: &rules,
                lexicon: &lexicon,
                labels: &labels,
            };
            query::run(&cx, request)
        }));
        let why = match outcome {
            Ok(Err(e)) if e.is_index_failure() => e.to_string(),
            Ok(result) => return result,
            Err(panic) => index::panicked(&*panic),
        };
        self.failed(&index, &why);
        Err(SearchError::Rebuilding)
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
    /// by characters, pinyin or initials; then the best matches of a search (left out while the
    /// index is made again, if there are completions).
    pub fn suggest(&self, typed: &str, limit: usize) -> Result<Vec<Suggestion>, SearchError> {
        let folded: String = analysis::normalize(typed).chars().take(query::MAX_QUERY_CHARS).collect();
        if folded.trim().is_empty() {
            return Ok(Vec::new());
        }
        let mut out = read(&self.inner.lexicon).suggest(&folded, limit);
        if out.len() < limit {
            let mut request = SearchRequest::text(&folded);
            request.limit = limit;
            let found = match self.run(&request) {
                Ok(found) => found.hits,
                // The names learnt are in memory: they still help while the index is made again.
                Err(SearchError::Rebuilding) if !out.is_empty() => Vec::new(),
                Err(e) => return Err(e),
            };
            for hit in found {
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
        let index = self.index();
        let counted = index::unwinding(|| {
            let searcher = index.searcher();
            let count = |kind: &str| {
                let q =
                    tantivy::query::TermQuery::new(index.kind_term(kind), tantivy::schema::IndexRecordOption::Basic);
                searcher.search(&q, &tantivy::collector::Count).map_or(0, |n| n as u64)
            };
            Ok((count("item"), count("department"), count("document")))
        });
        counted.unwrap_or_else(|why| {
            self.failed(&index, &why);
            (0, 0, 0)
        })
    }
}

/// A background task of the index that panicked (or was cancelled): the index failed.
fn task_failed(e: tokio::task::JoinError) -> SearchError {
    let why = match e.try_into_panic() {
        Ok(panic) => index::panicked(&*panic),
        Err(e) => e.to_string(),
    };
    SearchError::Index(tantivy::TantivyError::InternalError(why))
}

fn last_region(doc: &TantivyDocument, field: tantivy::schema::Field) -> String {
    doc.get_all(field).filter_map(|v| v.as_str()).last().unwrap_or_default().to_owned()
}

async fn count_published(db: &Db) -> Result<usize, SearchError> {
    let (total, _) = catalog::list(db, &catalog::ItemFilter::default(), 1, 0).await?;
    Ok(usize::try_from(total).unwrap_or(0))
}
