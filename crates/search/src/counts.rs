//! What a node counts between flushes: guide visits (for popularity) and queries that found
//! nothing (for the administrators), written to the database every `flush_seconds`.

use crate::{Search, SearchError, lock, store};
use std::collections::HashSet;

impl Search {
    /// Counts a visit to an item's guide (written with the next flush; ranks popular items
    /// higher).
    /// A visitor (their address, or account) counts once a day per item on this node, so that
    /// reloading a page does not lift an item.
    pub fn record_visit(&self, code: &str, visitor: &str) {
        let today = self.inner.db.now().date_naive();
        {
            let mut seen = lock(&self.inner.seen);
            if seen.0 != today || seen.1.len() >= 200_000 {
                *seen = (today, HashSet::new());
            }
            if !seen.1.insert((visitor.to_owned(), code.to_owned())) {
                return;
            }
        }
        let mut visits = lock(&self.inner.visits);
        if visits.len() < 100_000 || visits.contains_key(code) {
            *visits.entry(code.to_owned()).or_default() += 1;
        }
    }

    /// Writes counted visits and zero-result queries to the database.
    pub async fn flush(&self) -> Result<(), SearchError> {
        let misses = std::mem::take(&mut *lock(&self.inner.misses));
        let visits = std::mem::take(&mut *lock(&self.inner.visits));
        store::record_misses(&self.inner.db, &misses).await?;
        store::add_visits(&self.inner.db, &visits).await?;
        Ok(())
    }
}
