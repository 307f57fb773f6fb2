//! Following the change feed on a node: items indexed again, rules reloaded, rebuilds, counts
//! written, popular items re-ranked; the index files checked, and the index made again when
//! they are damaged or a search failed in it.

use crate::{Search, store};
use chrono::{DateTime, Utc};
use govhall_db::changes::{ChangeFollower, FeedEvent};
use std::collections::HashSet;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

impl Search {
    /// Keeps the index current from the change feed until `shutdown`: changed items are
    /// indexed again (changes arriving together are taken together), changed rules reloaded, and
    /// a lost feed answered by a rebuild. Counts are flushed and popular items re-ranked every
    /// `flush_seconds`; the index files on disk are checked every `check_seconds`. Damaged files,
    /// a search or a write that failed in the index: the index is made again.
    pub fn follow(&self, changes: &ChangeFollower, shutdown: CancellationToken) {
        let mut events = changes.subscribe();
        let search = self.clone();
        let follower = changes.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(search.inner.settings.flush_seconds.max(1)));
            tick.tick().await;
            let mut check = tokio::time::interval(Duration::from_secs(search.inner.settings.check_seconds.max(1)));
            // A check missed during a long rebuild is not made up for.
            check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            check.tick().await;
            let mut ranked_at: DateTime<Utc> = search.inner.db.now();
            // The feed position of the last change handled, and what failed to be applied and
            // waits for the next try.
            let mut handled = follower.position();
            let mut pending: HashSet<String> = HashSet::new();
            let mut rules = false;
            let mut resync = false;
            let mut repair = false;
            loop {
                let mut codes: HashSet<String> = std::mem::take(&mut pending);
                tokio::select! {
                    () = shutdown.cancelled() => {
                        if let Err(e) = search.flush().await {
                            tracing::warn!(error = %e, "writing search counts failed");
                        }
                        return;
                    }
                    _ = tick.tick() => {
                        if let Err(e) = search.flush().await {
                            tracing::warn!(error = %e, "writing search counts failed");
                        }
                        let now = search.inner.db.now();
                        match store::popularity_changed(&search.inner.db, ranked_at).await {
                            Ok(changed) => {
                                codes.extend(changed);
                                ranked_at = now;
                            }
                            Err(e) => tracing::warn!(error = %e, "reading popularity failed"),
                        }
                    }
                    _ = check.tick() => {
                        if let Err(why) = search.check_files().await {
                            tracing::warn!(%why, "the search index files on disk are damaged; making the index again");
                            repair = true;
                        }
                    }
                    () = search.inner.failed.notified() => {
                        if search.after_failure().await {
                            repair = true;
                        }
                    }
                    event = events.recv() => {
                        let mut next = Some(event);
                        while let Some(event) = next.take() {
                            match event {
                                Ok(FeedEvent::Change(c)) => {
                                    handled = handled.max(c.seq);
                                    match c.entity.as_str() {
                                        "item" => { codes.insert(c.entity_id); }
                                        "search_rules" => rules = true,
                                        "search_index" => resync = true,
                                        _ => {}
                                    }
                                }
                                Ok(FeedEvent::Resync) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                                    resync = true;
                                    handled = handled.max(follower.position());
                                }
                                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                            }
                            next = match events.try_recv() {
                                Ok(event) => Some(Ok(event)),
                                Err(tokio::sync::broadcast::error::TryRecvError::Lagged(n)) => {
                                    Some(Err(tokio::sync::broadcast::error::RecvError::Lagged(n)))
                                }
                                Err(_) => None,
                            };
                        }
                    }
                }
                if rules {
                    match search.reload_rules().await {
                        Ok(()) => rules = false,
                        Err(e) => tracing::warn!(error = %e, "reloading search rules failed; retrying"),
                    }
                }
                // A failure keeps what was to be done for the next round (a tick at the latest),
                // and the committed position never passes a change not yet applied. A failure of
                // the index itself is answered by making it again.
                if repair {
                    match search.repair(handled).await {
                        Ok(_) => {
                            repair = false;
                            resync = false;
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "making the search index again failed; retrying");
                            pending = codes;
                        }
                    }
                } else if resync {
                    match search.rebuild(handled, &|_, _| {}).await {
                        Ok(_) => resync = false,
                        Err(e) => {
                            tracing::warn!(error = %e, "rebuilding the search index failed; retrying");
                            repair = e.is_index_failure();
                            pending = codes;
                        }
                    }
                } else if !codes.is_empty() {
                    let list: Vec<String> = codes.iter().cloned().collect();
                    if let Err(e) = search.reindex(&list, handled).await {
                        tracing::warn!(error = %e, "updating the search index failed; retrying");
                        repair = e.is_index_failure();
                        pending = codes;
                    }
                }
            }
        });
    }
}
