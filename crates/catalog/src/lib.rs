//! The service catalogue (事项目录): items and their guides (办事指南), versioned; the six
//! navigations' taxonomy; related items; the importers of the bundled real catalogues; editing
//! with review.
//!
//! - [`model`]: the guide as one document ([`ItemContent`]), time limits, materials, natures.
//! - [`store`]: publishing a version and reading what visitors see.
//! - [`taxonomy`]: tags and the editable mapping from source values.
//! - [`import`]: the Guangdong and Sichuan importers.
//! - [`editing`]: drafts, review, publishing, with permissions and data scopes.
//! - [`sheet`]: the catalogue as an Excel workbook, and edits read back from one.
//!
//! [`Catalog`] keeps published guides in memory on each node and forgets one when the change
//! feed says it changed.

pub mod editing;
mod error;
pub mod fees;
pub mod form;
pub mod import;
pub mod model;
pub mod sheet;
pub mod store;
pub mod taxonomy;

pub use error::CatalogError;
pub use model::ItemContent;

use govhall_db::Db;
use govhall_db::changes::{ChangeFollower, FeedEvent};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use store::{Guide, ItemFilter, ItemSummary};

/// The catalogue's services with this node's cache of published guides.
#[derive(Debug, Clone)]
pub struct Catalog {
    db: Db,
    cache: Arc<RwLock<HashMap<String, Arc<Guide>>>>,
    lists: Arc<RwLock<HashMap<ListKey, Arc<ListPage>>>>,
}

/// A filter, a page size and an offset.
type ListKey = (ItemFilter, i64, i64);
/// The total and one page of items.
pub type ListPage = (i64, Vec<ItemSummary>);

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Catalog {
    /// The catalogue over `db`; `changes` keeps the cache current.
    pub fn new(db: Db, changes: &ChangeFollower) -> Catalog {
        let catalog = Catalog { db, cache: Arc::default(), lists: Arc::default() };
        let mut events = changes.subscribe();
        let listener = catalog.clone();
        tokio::spawn(async move {
            loop {
                match events.recv().await {
                    Ok(FeedEvent::Change(change)) if change.entity == "item" => listener.forget(&change.entity_id),
                    Ok(FeedEvent::Change(_)) => {}
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        write(&listener.cache).clear();
                        write(&listener.lists).clear();
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                }
            }
        });
        catalog
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The published guide of an item, from this node's cache when it has it.
    pub async fn guide(&self, code: &str) -> Result<Option<Arc<Guide>>, CatalogError> {
        if let Some(guide) = self.cache.read().unwrap_or_else(std::sync::PoisonError::into_inner).get(code) {
            return Ok(Some(guide.clone()));
        }
        let Some(guide) = store::guide(&self.db, code).await? else { return Ok(None) };
        let guide = Arc::new(guide);
        let mut cache = write(&self.cache);
        if cache.len() >= 10_000 {
            cache.clear();
        }
        cache.insert(code.to_owned(), guide.clone());
        Ok(Some(guide))
    }

    /// Forgets this node's copy of a guide (after publishing here; other nodes hear of it from
    /// the change feed).
    pub fn forget(&self, code: &str) {
        write(&self.cache).remove(code);
        // Any list may hold the item: lists are cheap to make again.
        write(&self.lists).clear();
    }

    /// A page of published items (see [`store::list`]), from this node's cache when it has it.
    pub async fn list(&self, filter: &ItemFilter, limit: i64, offset: i64) -> Result<Arc<ListPage>, CatalogError> {
        let key = (filter.clone(), limit, offset);
        if let Some(hit) = self.lists.read().unwrap_or_else(std::sync::PoisonError::into_inner).get(&key) {
            return Ok(hit.clone());
        }
        let page = Arc::new(store::list(&self.db, filter, limit, offset).await?);
        let mut lists = write(&self.lists);
        if lists.len() >= 5_000 {
            lists.clear();
        }
        lists.insert(key, page.clone());
        Ok(page)
    }

    /// Makes sure what the catalogue needs exists: the default tag mapping and, when
    /// `import_bundled` and the catalogue is empty, the bundled catalogues.
    pub async fn prepare(&self, import_bundled: bool) -> Result<(), CatalogError> {
        taxonomy::ensure_defaults(&self.db).await?;
        if import_bundled {
            import::ensure_imported(&self.db).await?;
        }
        Ok(())
    }
}

/// The catalogue's part of the configuration (`[catalog]`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CatalogSettings {
    /// Whether the first start of an empty database imports the bundled real catalogues.
    pub import_on_start: bool,
}

impl Default for CatalogSettings {
    fn default() -> Self {
        Self { import_on_start: true }
    }
}
