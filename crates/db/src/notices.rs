//! Wake-up notices to the other nodes (PostgreSQL `NOTIFY`), sent just after a commit instead of
//! inside the transaction.
//!
//! PostgreSQL takes one lock for the whole cluster while it commits a transaction that issued
//! `NOTIFY` (the notification queue's), so transactions that notify commit one at a time,
//! whatever they touch: a booking, a submission and a serial number from any node would wait for
//! each other. Sent after the commit, by at most one task per node and channel at a time, the
//! notice costs a business transaction nothing; commits that end while one is being sent only
//! mark another as needed, and the sender sends it for them. A notice lost in a crash between
//! the commit and the send only delays: every node also polls.

use crate::Db;
use std::sync::atomic::{AtomicBool, Ordering};

/// The channels other nodes listen on.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Channel {
    /// New or requeued jobs.
    Jobs,
    /// New entries in the change feed.
    Changes,
}

impl Channel {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Channel::Jobs => "govhall_jobs",
            Channel::Changes => "govhall_changes",
        }
    }
}

/// One channel's notice: whether one is needed, and who is sending.
#[derive(Debug, Default)]
struct Notice {
    needed: AtomicBool,
    sending: tokio::sync::Mutex<()>,
}

/// This node's notices, per channel.
#[derive(Debug, Default)]
pub(crate) struct Notices {
    jobs: Notice,
    changes: Notice,
}

/// Notices one sender sends in a row before leaving the rest to the next commit (so that no
/// request keeps sending under a steady load).
const ROUNDS: usize = 8;

impl Db {
    /// Tells the other nodes, after a commit, that `channel` has news (PostgreSQL only).
    pub(crate) async fn notify_committed(&self, channel: Channel) {
        let Some(pool) = self.pg_pool() else { return };
        let notice = match channel {
            Channel::Jobs => &self.notices().jobs,
            Channel::Changes => &self.notices().changes,
        };
        notice.needed.store(true, Ordering::Release);
        let mut rounds = 0;
        loop {
            let Ok(sending) = notice.sending.try_lock() else { return };
            while notice.needed.swap(false, Ordering::AcqRel) {
                if rounds == ROUNDS {
                    notice.needed.store(true, Ordering::Release);
                    return;
                }
                rounds += 1;
                let sent = async {
                    let mut conn = pool.acquire().await?;
                    sqlx::query("SELECT pg_notify($1, '')").bind(channel.name()).execute(&mut *conn).await
                }
                .await;
                if let Err(e) = sent {
                    tracing::warn!(error = %e, channel = channel.name(), "could not notify the other nodes; they will poll");
                }
            }
            drop(sending);
            // A commit that ended while we held the lock and found it taken left its notice to us.
            if !notice.needed.load(Ordering::Acquire) {
                return;
            }
        }
    }
}
