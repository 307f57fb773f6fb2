//! The node's tantivy index: its folder (locked while this process uses it), opened when intact
//! or made anew; written by one writer; read by searchers reloaded after each commit. Each
//! commit records the change-feed position it reflects.
//!
//! Every file is checked against its checksum as it is read ([`CheckedDirectory`]); an index
//! that does not open whole (a damaged or missing file, another schema, no commit, a panic of the
//! library) is replaced, and whatever tantivy left in the folder goes with it.

use crate::SearchError;
use crate::checked::CheckedDirectory;
use crate::query::TallyCache;
use crate::schema::{self, Fields, SCHEMA_VERSION};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use tantivy::directory::MmapDirectory;
use tantivy::schema::Schema;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term};

/// Memory the writer may use before flushing a segment.
const WRITER_HEAP: usize = 64 * 1024 * 1024;

/// What the last commit said.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
struct Payload {
    schema: u32,
    seq: i64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Runs `f`, a panic of the library becoming an error.
pub(crate) fn unwinding<T>(f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|panic| Err(panicked(&*panic)))
}

/// What a caught panic said.
pub(crate) fn panicked(panic: &(dyn std::any::Any + Send)) -> String {
    let said =
        panic.downcast_ref::<&str>().map(|s| (*s).to_owned()).or_else(|| panic.downcast_ref::<String>().cloned());
    format!("the search library panicked: {}", said.unwrap_or_default())
}

/// Where this node keeps its index (in memory without a folder), held for as long as the node
/// runs: one process per index folder.
#[derive(Debug)]
pub(crate) struct Folder {
    dir: Option<PathBuf>,
    _lock: Option<std::fs::File>,
}

impl Folder {
    /// Takes the folder `dir` (memory without one); refused while another process holds it.
    pub fn take(dir: Option<&Path>) -> Result<Folder, SearchError> {
        let Some(dir) = dir else { return Ok(Folder { dir: None, _lock: None }) };
        let io = |e: std::io::Error| SearchError::Folder(format!("{}：{e}", dir.display()));
        if let Some(parent) = dir.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        // Beside the folder, so that emptying the folder never drops it.
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.with_extension("lock"))
            .map_err(io)?;
        if lock.try_lock().is_err() {
            return Err(SearchError::Locked(dir.display().to_string()));
        }
        Ok(Folder { dir: Some(dir.to_owned()), _lock: Some(lock) })
    }

    /// The index in the folder when it opens whole, with the feed position of its last commit;
    /// else a new empty one (`opened_at` is `None`: build it).
    pub fn open(&self) -> Result<NodeIndex, SearchError> {
        let (schema, fields) = schema::schema();
        let Some(dir) = &self.dir else { return self.create() };
        if !dir.join("meta.json").exists() && !has_index_files(dir) {
            return self.create();
        }
        let opened = unwinding(|| {
            let (index, seq) = open_existing(dir, &schema)?;
            NodeIndex::over(index, fields, Some(seq)).map_err(|e| e.to_string())
        });
        match opened {
            Ok(index) => Ok(index),
            Err(why) => {
                tracing::warn!(dir = %dir.display(), %why, "the search index cannot be used; making it again");
                self.create()
            }
        }
    }

    /// A new empty index, whatever the folder held: tantivy's files there are removed first
    /// (nothing of the old index is read). A folder that holds other files and none of an index
    /// is refused rather than used: it is a misconfigured `index_dir`.
    pub fn create(&self) -> Result<NodeIndex, SearchError> {
        let (schema, fields) = schema::schema();
        let Some(dir) = &self.dir else {
            return Ok(NodeIndex::over(Index::create_in_ram(schema), fields, None)?);
        };
        empty(dir)?;
        let index = Index::create(CheckedDirectory::open(dir)?, schema, tantivy::IndexSettings::default())?;
        Ok(NodeIndex::over(index, fields, None)?)
    }

    /// Reads every file of the folder's last commit from disk and checks it against its
    /// checksum: `Err` says what is damaged. Read twice before saying so, as a merge ending
    /// meanwhile removes files.
    pub fn check(&self) -> Result<(), String> {
        let Some(dir) = &self.dir else { return Ok(()) };
        let once = || {
            unwinding(|| {
                let index =
                    Index::open(MmapDirectory::open(dir).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
                let damaged = index.validate_checksum().map_err(|e| e.to_string())?;
                if damaged.is_empty() { Ok(()) } else { Err(format!("damaged files: {}", names(damaged))) }
            })
        };
        once().or_else(|_| {
            std::thread::sleep(std::time::Duration::from_millis(200));
            once()
        })
    }
}

fn names(paths: impl IntoIterator<Item = PathBuf>) -> String {
    let mut names: Vec<String> = paths.into_iter().map(|p| p.display().to_string()).collect();
    names.sort();
    names.join(", ")
}

/// Whether `name` is one of the files tantivy makes in an index folder: the commit, its list
/// of files, its locks and temporary files, and segment files (named by a segment's 32 hex
/// digits).
fn is_index_file(name: &str) -> bool {
    let segment = name.len() > 33
        && name.as_bytes()[32] == b'.'
        && name.get(..32).is_some_and(|id| id.chars().all(|c| c.is_ascii_hexdigit()));
    segment
        || name == "meta.json"
        || name.starts_with(".managed.json")
        || name.starts_with(".tantivy-")
        || name.starts_with(".tmp")
}

fn has_index_files(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .is_ok_and(|mut entries| entries.any(|e| e.is_ok_and(|e| e.file_name().to_str().is_some_and(is_index_file))))
}

/// Removes tantivy's files from `dir` (made when missing); anything else is left, with a warning.
fn empty(dir: &Path) -> Result<(), SearchError> {
    let io = |e: std::io::Error| SearchError::Folder(format!("{}：{e}", dir.display()));
    std::fs::create_dir_all(dir).map_err(io)?;
    let entries: Vec<std::fs::DirEntry> = std::fs::read_dir(dir).map_err(io)?.collect::<Result<_, _>>().map_err(io)?;
    let ours = |e: &std::fs::DirEntry| e.file_name().to_str().is_some_and(is_index_file);
    if !entries.is_empty() && !entries.iter().any(ours) {
        return Err(SearchError::Folder(format!(
            "{} 不是搜索索引文件夹，且不为空：请检查 [search] index_dir",
            dir.display()
        )));
    }
    for entry in entries {
        let path = entry.path();
        if !ours(&entry) {
            tracing::warn!(file = %path.display(), "a file that is not the search index's is in its folder; left there");
            continue;
        }
        let removed = if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
        match removed {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(e)),
        }
    }
    Ok(())
}

fn open_existing(dir: &Path, schema: &Schema) -> Result<(Index, i64), String> {
    if !dir.join("meta.json").exists() {
        return Err("no commit (meta.json is missing)".to_owned());
    }
    let index = Index::open(CheckedDirectory::open(dir).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    if index.schema() != *schema {
        return Err("another schema".to_owned());
    }
    let metas = index.load_metas().map_err(|e| e.to_string())?;
    let payload: Payload =
        metas.payload.as_deref().and_then(|p| serde_json::from_str(p).ok()).ok_or_else(|| "no commit".to_owned())?;
    if payload.schema != SCHEMA_VERSION {
        return Err(format!("schema version {}", payload.schema));
    }
    // Every file of the commit is read and checked now, not at the first search that needs it.
    let damaged = index.validate_checksum().map_err(|e| e.to_string())?;
    if !damaged.is_empty() {
        return Err(format!("damaged files: {}", names(damaged)));
    }
    let reader = index.reader().map_err(|e| e.to_string())?;
    for segment in reader.searcher().segment_readers() {
        let store = segment.get_store_reader(1).map_err(|e| e.to_string())?;
        if segment.num_docs() > 0 {
            store.get::<TantivyDocument>(0).map_err(|e| e.to_string())?;
        }
    }
    Ok((index, payload.seq))
}

/// An open index.
pub(crate) struct NodeIndex {
    pub fields: Fields,
    index: Index,
    reader: IndexReader,
    /// `None` once closed for a rebuild in a new index.
    writer: Mutex<Option<IndexWriter>>,
    /// The change-feed position of the last commit, when the index was opened intact.
    pub opened_at: Option<i64>,
    /// Facet tallies of recent searches of this index.
    pub tallies: TallyCache,
}

impl std::fmt::Debug for NodeIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeIndex").field("opened_at", &self.opened_at).finish_non_exhaustive()
    }
}

impl NodeIndex {
    fn over(index: Index, fields: Fields, opened_at: Option<i64>) -> tantivy::Result<NodeIndex> {
        let writer = index.writer_with_num_threads(1, WRITER_HEAP)?;
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        Ok(NodeIndex {
            fields,
            index,
            reader,
            writer: Mutex::new(Some(writer)),
            opened_at,
            tallies: TallyCache::default(),
        })
    }

    /// A searcher over the last commit.
    pub fn searcher(&self) -> Searcher {
        self.reader.searcher()
    }

    /// Applies `write` to the writer and commits with `seq`; searches see the commit after
    /// [`NodeIndex::publish`] (so that what is learnt from it can be ready first).
    pub fn write(&self, seq: i64, write: impl FnOnce(&IndexWriter) -> tantivy::Result<()>) -> tantivy::Result<()> {
        let mut guard = lock(&self.writer);
        let Some(writer) = guard.as_mut() else {
            return Err(tantivy::TantivyError::SystemError("the index was closed to be made again".to_owned()));
        };
        if let Err(e) = write(writer) {
            writer.rollback()?;
            return Err(e);
        }
        let mut commit = writer.prepare_commit()?;
        commit.set_payload(&serde_json::json!(Payload { schema: SCHEMA_VERSION, seq }).to_string());
        commit.commit()?;
        Ok(())
    }

    /// Stops writing (waiting for merges), so that a new index can take the folder; searches
    /// of what was published go on.
    pub fn close(&self) {
        drop(lock(&self.writer).take());
    }

    /// A searcher over the last commit, whether published or not.
    pub fn latest(&self) -> tantivy::Result<Searcher> {
        let reader: IndexReader = self.index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        Ok(reader.searcher())
    }

    /// Makes the last commit the one searches see.
    pub fn publish(&self) -> tantivy::Result<()> {
        self.reader.reload()
    }

    /// The term naming an item's documents.
    pub fn code_term(&self, code: &str) -> Term {
        Term::from_field_text(self.fields.code, code)
    }

    /// The term naming every document of a kind.
    pub fn kind_term(&self, kind: &str) -> Term {
        Term::from_field_text(self.fields.kind, kind)
    }
}

/// Where the index lives under the data folder unless configured.
pub fn default_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("search")
}

#[cfg(test)]
mod tests {
    use super::is_index_file;

    #[test]
    fn only_tantivys_files_are_taken_for_the_index() {
        for ours in [
            "meta.json",
            ".managed.json",
            ".tantivy-writer.lock",
            ".tantivy-meta.lock",
            ".tmpAbC123",
            "0123456789abcdef0123456789abcdef.store",
            "0123456789abcdef0123456789abcdef.12.del",
        ] {
            assert!(is_index_file(ours), "{ours}");
        }
        for other in ["notes.txt", "search.lock", "0123456789abcdef.store", "zz23456789abcdef0123456789abcdef.idx"] {
            assert!(!is_index_file(other), "{other}");
        }
    }
}
