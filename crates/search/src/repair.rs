//! Making the index again when it fails: a search that fails in the index or panics in the
//! library, files on disk that no longer match their checksums, a write that fails. A new index
//! is made in the folder from the database and searched once it is whole; until then searches
//! go on from the old one, unless a search failed in it: then they answer
//! [`SearchError::Rebuilding`] (never a wrong count from an index that cannot be trusted).

use crate::index::NodeIndex;
use crate::{Search, SearchError, lock, task_failed};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// After the index was made again because a search failed, a new failure with intact files
/// waits this long before it makes the index again: a query that trips the library would
/// otherwise keep the node rebuilding (only that search is refused).
const REPAIR_PAUSE: Duration = Duration::from_secs(600);

impl Search {
    /// A search failed in `index`: the follower is told, unless that index was replaced since.
    pub(crate) fn failed(&self, index: &Arc<NodeIndex>, why: &str) {
        if Arc::ptr_eq(index, &self.index()) {
            tracing::error!(%why, "a search failed in the index");
            self.inner.failed.notify_one();
        }
    }

    /// Whether to make the index again after a search failed; if so, searches are refused
    /// until it is made.
    pub(crate) async fn after_failure(&self) -> bool {
        let recent = lock(&self.inner.repaired_at).is_some_and(|at| at.elapsed() < REPAIR_PAUSE);
        if recent && self.check_files().await.is_ok() {
            tracing::warn!(
                "a search failed again soon after the index was made again, its files intact; not again yet"
            );
            return false;
        }
        *lock(&self.inner.repaired_at) = Some(Instant::now());
        self.inner.broken.store(true, Ordering::Release);
        true
    }

    /// Checks the index files on disk against their checksums (no commit meanwhile).
    pub(crate) async fn check_files(&self) -> Result<(), String> {
        let _writing = self.inner.writing.lock().await;
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || inner.folder.check()).await.unwrap_or_else(|e| Err(e.to_string()))
    }

    /// Makes a new index in the folder (whatever it held) from the database at feed position
    /// `position`, and searches it from then on. Searches see the old one meanwhile, unless it
    /// is marked broken. Returns how many items went in.
    pub(crate) async fn repair(&self, position: i64) -> Result<usize, SearchError> {
        let _writing = self.inner.writing.lock().await;
        let old = self.index();
        let inner = self.inner.clone();
        let fresh = tokio::task::spawn_blocking(move || {
            // The old writer lets go of the folder; what was published stays searchable, in memory.
            old.close();
            inner.folder.create()
        })
        .await
        .map_err(task_failed)??;
        let fresh = Arc::new(fresh);
        let count = self.fill(&fresh, position, &|_, _| {}).await?;
        *self.inner.index.write().unwrap_or_else(std::sync::PoisonError::into_inner) = fresh;
        self.inner.broken.store(false, Ordering::Release);
        tracing::info!(items = count, "the search index was made again");
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use crate::{Search, SearchError, SearchRequest, SearchSettings};
    use govhall_catalog::{import, taxonomy};
    use govhall_db::changes;
    use govhall_db::testing::TestDatabase;
    use std::sync::Arc;

    #[tokio::test]
    async fn a_search_that_fails_is_refused_until_the_index_is_made_again_and_never_in_a_loop() {
        let t = TestDatabase::new().await;
        let db = t.open().await.unwrap();
        govhall_identity::regions::ensure_imported(&db).await.unwrap();
        taxonomy::ensure_defaults(&db).await.unwrap();
        let text: String = import::GD_BUNDLED.lines().take(20).collect::<Vec<_>>().join("\n");
        import::import_gd(&db, &text, |_, _| {}).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let index_dir = dir.path().join("search").to_str().unwrap().to_owned();
        let settings = SearchSettings { index_dir, ..SearchSettings::default() };
        let position = changes::latest_seq(&db).await.unwrap();
        let search = Search::open(db.clone(), &settings, dir.path(), position).await.unwrap();
        let all = SearchRequest::text("");
        assert_eq!(search.search(&all).unwrap().total, 20);

        // What an error in the index or a panic of the library in a search leads to.
        let index = search.index();
        assert!(search.search(&SearchRequest::text("临时")).is_ok());
        search.failed(&index, "a test");
        assert!(search.after_failure().await);
        assert!(matches!(search.search(&all), Err(SearchError::Rebuilding)));
        assert!(!search.suggest("临时", 5).unwrap().is_empty(), "completions from memory go on");
        assert_eq!(search.repair(position).await.unwrap(), 20);
        assert!(!Arc::ptr_eq(&index, &search.index()), "a new index");
        assert_eq!(search.search(&all).unwrap().total, 20);

        // Failing again soon, its files intact: only that search was refused; no rebuild loop.
        search.failed(&search.index(), "a test");
        assert!(!search.after_failure().await);
        assert_eq!(search.search(&all).unwrap().total, 20);
        // A failure of an index already replaced is not counted.
        search.failed(&index, "a test");
        drop(search);
        t.cleanup().await;
    }

    #[test]
    fn a_panic_of_the_library_is_an_error() {
        let caught = crate::index::unwinding(|| -> Result<(), String> { panic!("boom") });
        assert_eq!(caught.unwrap_err(), "the search library panicked: boom");
    }
}
