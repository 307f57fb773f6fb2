//! The node's tantivy index: opened from its folder (or memory), recreated when missing, of
//! another schema version or unreadable; written by one writer; read by searchers reloaded after
//! each commit. Each commit records the change-feed position it reflects.

use crate::schema::{self, Fields, SCHEMA_VERSION};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
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

/// An open index.
pub(crate) struct NodeIndex {
    /// Held while the index is open: one node process per index folder.
    _lock: Option<std::fs::File>,
    pub fields: Fields,
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    /// The change-feed position of the last commit, when the index was opened intact.
    pub opened_at: Option<i64>,
}

impl std::fmt::Debug for NodeIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeIndex").field("opened_at", &self.opened_at).finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl NodeIndex {
    /// Opens the index in `dir` (in memory without one). An index that is missing, unreadable
    /// or of another schema is replaced by an empty one, and `opened_at` is `None`: build it.
    pub fn open(dir: Option<&Path>) -> tantivy::Result<NodeIndex> {
        let (schema, fields) = schema::schema();
        let Some(dir) = dir else {
            return NodeIndex::over(Index::create_in_ram(schema), fields, None, None);
        };
        // Before anything is read or replaced: nobody else may be using this folder.
        if let Some(parent) = dir.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let lock =
            std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(dir.with_extension("lock"))?;
        if lock.try_lock().is_err() {
            return Err(tantivy::TantivyError::SystemError(format!(
                "the search index {} is locked by another running process",
                dir.display()
            )));
        }
        // A damaged file can make tantivy panic rather than err: that too means rebuild.
        let existing =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| NodeIndex::open_existing(dir, &schema)))
                .unwrap_or_else(|_| Err("the index files are damaged".to_owned()));
        match existing {
            Ok((index, seq)) => NodeIndex::over(index, fields, Some(seq), Some(lock)),
            Err(why) => {
                if dir.exists() {
                    // Only ever replace what is an index (or nothing): a misconfigured folder
                    // holding other files is refused, not emptied.
                    let foreign = std::fs::read_dir(dir)?.next().is_some() && !dir.join("meta.json").exists();
                    if foreign {
                        return Err(tantivy::TantivyError::SystemError(format!(
                            "{} 不是搜索索引文件夹，且不为空：请检查 [search] index_dir",
                            dir.display()
                        )));
                    }
                    tracing::warn!(dir = %dir.display(), %why, "the search index cannot be used; rebuilding it");
                }
                let _ = std::fs::remove_dir_all(dir);
                std::fs::create_dir_all(dir)?;
                NodeIndex::over(Index::create_in_dir(dir, schema)?, fields, None, Some(lock))
            }
        }
    }

    fn open_existing(dir: &Path, schema: &Schema) -> Result<(Index, i64), String> {
        if !dir.join("meta.json").exists() {
            return Err("no index".to_owned());
        }
        let index = Index::open_in_dir(dir).map_err(|e| e.to_string())?;
        if index.schema() != *schema {
            return Err("another schema".to_owned());
        }
        let metas = index.load_metas().map_err(|e| e.to_string())?;
        let payload: Payload = metas
            .payload
            .as_deref()
            .and_then(|p| serde_json::from_str(p).ok())
            .ok_or_else(|| "no commit".to_owned())?;
        if payload.schema != SCHEMA_VERSION {
            return Err(format!("schema version {}", payload.schema));
        }
        // Every segment must open: a damaged file shows here rather than in the first search.
        let reader = index.reader().map_err(|e| e.to_string())?;
        for segment in reader.searcher().segment_readers() {
            let store = segment.get_store_reader(1).map_err(|e| e.to_string())?;
            if segment.num_docs() > 0 {
                store.get::<TantivyDocument>(0).map_err(|e| e.to_string())?;
            }
        }
        Ok((index, payload.seq))
    }

    fn over(
        index: Index,
        fields: Fields,
        opened_at: Option<i64>,
        lock: Option<std::fs::File>,
    ) -> tantivy::Result<NodeIndex> {
        let writer = index.writer_with_num_threads(1, WRITER_HEAP)?;
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        Ok(NodeIndex { _lock: lock, fields, index, reader, writer: Mutex::new(writer), opened_at })
    }

    /// A searcher over the last commit.
    pub fn searcher(&self) -> Searcher {
        self.reader.searcher()
    }

    /// Applies `write` to the writer and commits with `seq`; searches see the commit after
    /// [`NodeIndex::publish`] (so that what is learnt from it can be ready first).
    pub fn write(&self, seq: i64, write: impl FnOnce(&IndexWriter) -> tantivy::Result<()>) -> tantivy::Result<()> {
        let mut writer = lock(&self.writer);
        if let Err(e) = write(&writer) {
            writer.rollback()?;
            return Err(e);
        }
        let mut commit = writer.prepare_commit()?;
        commit.set_payload(&serde_json::json!(Payload { schema: SCHEMA_VERSION, seq }).to_string());
        commit.commit()?;
        Ok(())
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
