//! Hears PostgreSQL's `NOTIFY` from every node and wakes this node's worker and change follower.

use crate::Db;
use sqlx::postgres::PgListener;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

impl Db {
    /// On PostgreSQL, listens for new jobs and changes committed by any node until `shutdown`,
    /// reconnecting after an error. Polling still runs, so a lost notification only delays.
    /// On SQLite there is one node, and commits wake the worker directly: nothing to do.
    pub fn spawn_listener(&self, shutdown: CancellationToken) {
        let Some(pool) = self.pg_pool().cloned() else { return };
        let db = self.clone();
        tokio::spawn(async move {
            loop {
                let listened = async {
                    let mut listener = PgListener::connect_with(&pool).await?;
                    listener.listen_all(["govhall_jobs", "govhall_changes"]).await?;
                    // Anything committed while we were not listening is found by the next poll.
                    db.wakeups().jobs.wake();
                    db.wakeups().changes.wake();
                    loop {
                        let note = listener.recv().await?;
                        match note.channel() {
                            "govhall_jobs" => db.wakeups().jobs.wake(),
                            _ => db.wakeups().changes.wake(),
                        }
                    }
                    #[expect(unreachable_code, reason = "gives the async block its error type")]
                    Ok::<(), sqlx::Error>(())
                };
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    result = listened => {
                        if let Err(e) = result {
                            tracing::warn!(error = %e, "LISTEN connection lost; reconnecting");
                        }
                    }
                }
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        });
    }
}
