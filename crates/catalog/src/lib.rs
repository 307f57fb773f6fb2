//! The service catalogue (事项目录): items and their guides (办事指南), versioned; the six
//! navigations' taxonomy; related items; the importers of the bundled real catalogues; editing
//! with review.
//!
//! - [`model`]: the guide as one document ([`ItemContent`]), time limits, materials, natures.
//! - [`store`]: publishing a version and reading what visitors see.
//! - [`taxonomy`]: tags and the editable mapping from source values.
//! - [`import`]: the Guangdong and Sichuan importers.
//! - [`editing`]: drafts, review, publishing, with permissions and data scopes.
//!
//! [`Catalog`] keeps published guides in memory on each node and forgets one when the change
//! feed says it changed.

pub mod editing;
mod error;
pub mod import;
pub mod model;
pub mod store;
pub mod taxonomy;

pub use error::CatalogError;
pub use model::ItemContent;

use govhall_db::Db;
use govhall_db::changes::{ChangeFollower, FeedEvent};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use store::Guide;

/// The catalogue's services with this node's cache of published guides.
#[derive(Debug, Clone)]
pub struct Catalog {
    db: Db,
    cache: Arc<RwLock<HashMap<String, Arc<Guide>>>>,
}

impl Catalog {
    /// The catalogue over `db`; `changes` keeps the cache current.
    pub fn new(db: Db, changes: &ChangeFollower) -> Catalog {
        let catalog = Catalog { db, cache: Arc::default() };
        let mut events = changes.subscribe();
        let cache = catalog.cache.clone();
        tokio::spawn(async move {
            loop {
                let forget_all = match events.recv().await {
                    Ok(FeedEvent::Change(change)) if change.entity == "item" => {
                        cache.write().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&change.entity_id);
                        false
                    }
                    Ok(FeedEvent::Change(_)) => false,
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => true,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                };
                if forget_all {
                    cache.write().unwrap_or_else(std::sync::PoisonError::into_inner).clear();
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
        let mut cache = self.cache.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if cache.len() >= 10_000 {
            cache.clear();
        }
        cache.insert(code.to_owned(), guide.clone());
        Ok(Some(guide))
    }

    /// Forgets this node's copy of a guide (after publishing here; other nodes hear of it from
    /// the change feed).
    pub fn forget(&self, code: &str) {
        self.cache.write().unwrap_or_else(std::sync::PoisonError::into_inner).remove(code);
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
