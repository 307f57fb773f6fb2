//! The in-site inbox (站内信) of a GovHall account: its delivered inbox messages.

use crate::MessagingError;
use crate::model::{Channel, Message, MessageStatus};
use crate::store::MessageFilter;
use govhall_db::sqlx::{self, AssertSqlSafe};
use govhall_db::{Db, exec, run};
use uuid::Uuid;

/// The account's inbox, newest first.
pub async fn list(db: &Db, account: Uuid, limit: i64, offset: i64) -> Result<Vec<Message>, MessagingError> {
    let filter = MessageFilter {
        channel: Some(Channel::Inbox),
        recipient: Some(account.to_string()),
        status: Some(MessageStatus::Delivered),
        ..MessageFilter::default()
    };
    crate::store::search(db, &filter, limit, offset).await
}

/// How many delivered inbox messages the account has not read.
pub async fn unread_count(db: &Db, account: Uuid) -> Result<i64, MessagingError> {
    let mut conn = db.conn().await?;
    Ok(run!(conn, |c| {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM messages WHERE channel = 'inbox' AND recipient = $1 AND status = 'delivered' AND read_at IS NULL",
        )
        .bind(account.to_string())
        .fetch_one(&mut *c)
        .await
    })?)
}

/// Marks one message read, if it is in this account's inbox. Returns whether it was.
pub async fn mark_read(db: &Db, account: Uuid, message: Uuid) -> Result<bool, MessagingError> {
    let mut conn = db.conn().await?;
    let updated = exec!(
        conn,
        sqlx::query(AssertSqlSafe(
            "UPDATE messages SET read_at = COALESCE(read_at, $1)
             WHERE id = $2 AND channel = 'inbox' AND recipient = $3 AND status = 'delivered'"
                .to_owned()
        ))
        .bind(db.now())
        .bind(message)
        .bind(account.to_string())
    )?;
    Ok(updated == 1)
}

/// Marks every message of the account read. Returns how many were unread.
pub async fn mark_all_read(db: &Db, account: Uuid) -> Result<u64, MessagingError> {
    let mut conn = db.conn().await?;
    Ok(exec!(
        conn,
        sqlx::query(
            "UPDATE messages SET read_at = $1
             WHERE channel = 'inbox' AND recipient = $2 AND status = 'delivered' AND read_at IS NULL"
        )
        .bind(db.now())
        .bind(account.to_string())
    )?)
}
