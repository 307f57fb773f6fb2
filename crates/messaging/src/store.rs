//! The SQL of messages and their events.

use crate::MessagingError;
use crate::model::{Channel, Message, MessageEvent, MessageStatus};
use chrono::{DateTime, Utc};
use govhall_db::sqlx::{self, AssertSqlSafe, FromRow};
use govhall_db::{Db, Target, exec, run};
use uuid::Uuid;

#[derive(FromRow)]
struct Row {
    id: Uuid,
    template_code: String,
    template_version: i32,
    channel: String,
    recipient: String,
    subject: String,
    body: String,
    is_verification: bool,
    status: String,
    attempts: i32,
    send_at: DateTime<Utc>,
    provider: Option<String>,
    provider_message_id: Option<String>,
    last_error: Option<String>,
    read_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    sending_at: Option<DateTime<Utc>>,
    delivered_at: Option<DateTime<Utc>>,
    failed_at: Option<DateTime<Utc>>,
    cancelled_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, template_code, template_version, channel, recipient, subject, body, is_verification, \
    status, attempts, send_at, provider, provider_message_id, last_error, read_at, created_at, sending_at, delivered_at, \
    failed_at, cancelled_at";

impl TryFrom<Row> for Message {
    type Error = MessagingError;
    fn try_from(r: Row) -> Result<Self, MessagingError> {
        let bad = |what: &str| MessagingError::Db(govhall_db::DbError::Decode(format!("消息 {}：{what}", r.id)));
        Ok(Message {
            channel: Channel::parse(&r.channel).ok_or_else(|| bad("未知渠道"))?,
            status: MessageStatus::parse(&r.status).ok_or_else(|| bad("未知状态"))?,
            id: r.id,
            template_code: r.template_code,
            template_version: r.template_version,
            recipient: r.recipient,
            subject: r.subject,
            body: r.body,
            is_verification: r.is_verification,
            attempts: r.attempts,
            send_at: r.send_at,
            provider: r.provider,
            provider_message_id: r.provider_message_id,
            last_error: r.last_error,
            read_at: r.read_at,
            created_at: r.created_at,
            sending_at: r.sending_at,
            delivered_at: r.delivered_at,
            failed_at: r.failed_at,
            cancelled_at: r.cancelled_at,
        })
    }
}

/// One message by id.
pub async fn get(conn: &mut impl Target, id: Uuid) -> Result<Option<Message>, MessagingError> {
    let row: Option<Row> = run!(conn, |c| {
        sqlx::query_as(AssertSqlSafe(format!("SELECT {COLUMNS} FROM messages WHERE id = $1")))
            .bind(id)
            .fetch_optional(&mut *c)
            .await
    })?;
    row.map(Message::try_from).transpose()
}

/// Records a transition.
pub(crate) async fn add_event(
    conn: &mut impl Target,
    id: Uuid,
    status: &str,
    detail: &str,
    at: DateTime<Utc>,
) -> Result<(), MessagingError> {
    exec!(
        conn,
        sqlx::query("INSERT INTO message_events (message_id, status, detail, at) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(status)
            .bind(detail)
            .bind(at)
    )?;
    Ok(())
}

/// Every transition of a message, oldest first.
pub async fn events(db: &Db, id: Uuid) -> Result<Vec<MessageEvent>, MessagingError> {
    let mut conn = db.conn().await?;
    let rows: Vec<(String, String, DateTime<Utc>)> = run!(conn, |c| {
        sqlx::query_as("SELECT status, detail, at FROM message_events WHERE message_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(&mut *c)
            .await
    })?;
    Ok(rows.into_iter().map(|(status, detail, at)| MessageEvent { status, detail, at }).collect())
}

/// Moves a message to `to` if it is in one of `from`, setting the matching timestamp, and
/// records the transition. Returns whether it moved.
pub(crate) async fn transition(
    conn: &mut impl Target,
    id: Uuid,
    from: &[MessageStatus],
    to: MessageStatus,
    detail: &str,
    at: DateTime<Utc>,
) -> Result<bool, MessagingError> {
    let stamp = match to {
        // A new hand-over forgets the previous one's provider id, so a late receipt for the
        // old send cannot settle the new one.
        MessageStatus::Sending => {
            ", sending_at = $1, attempts = attempts + 1, provider = NULL, provider_message_id = NULL"
        }
        MessageStatus::Delivered => ", delivered_at = $1",
        MessageStatus::TemporaryFailure | MessageStatus::PermanentFailure | MessageStatus::TechnicalFailure => {
            ", failed_at = $1"
        }
        MessageStatus::Cancelled => ", cancelled_at = $1",
        MessageStatus::Created => "",
    };
    // Once a verification code's message is settled its text is not kept: only the hash is.
    let scrub = if to.is_final() {
        ", body = CASE WHEN is_verification THEN '（验证码内容已清除）' ELSE body END, \
           subject = CASE WHEN is_verification THEN '' ELSE subject END"
    } else {
        ""
    };
    // A failure, or a return to the queue after one, keeps its reason.
    let error = matches!(
        to,
        MessageStatus::Created
            | MessageStatus::TemporaryFailure
            | MessageStatus::PermanentFailure
            | MessageStatus::TechnicalFailure
    )
    .then_some(detail);
    let allowed: Vec<String> = from.iter().map(|s| format!("'{}'", s.as_str())).collect();
    let sql = format!(
        "UPDATE messages SET status = $2, updated_at = $1, last_error = COALESCE($4, last_error){stamp}{scrub}
         WHERE id = $3 AND status IN ({})",
        allowed.join(", ")
    );
    let moved = exec!(conn, sqlx::query(AssertSqlSafe(sql)).bind(at).bind(to.as_str()).bind(id).bind(error))?;
    if moved == 1 {
        add_event(conn, id, to.as_str(), detail, at).await?;
    }
    Ok(moved == 1)
}

/// Filters of the delivery log.
#[derive(Debug, Clone, Default)]
pub struct MessageFilter {
    /// Only this channel.
    pub channel: Option<Channel>,
    /// Only this stored recipient (exact).
    pub recipient: Option<String>,
    /// Only this status.
    pub status: Option<MessageStatus>,
    /// Created at or after.
    pub from: Option<DateTime<Utc>>,
    /// Created before.
    pub to: Option<DateTime<Utc>>,
}

/// The delivery log, newest first.
pub async fn search(db: &Db, filter: &MessageFilter, limit: i64, offset: i64) -> Result<Vec<Message>, MessagingError> {
    let mut conn = db.conn().await?;
    let rows: Vec<Row> = run!(conn, |c| {
        sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM messages
             WHERE ($1 IS NULL OR channel = $1) AND ($2 IS NULL OR recipient = $2) AND ($3 IS NULL OR status = $3)
               AND ($4 IS NULL OR created_at >= $4) AND ($5 IS NULL OR created_at < $5)
             ORDER BY created_at DESC, id DESC LIMIT $6 OFFSET $7"
        )))
        .bind(filter.channel.map(Channel::as_str))
        .bind(filter.recipient.as_deref())
        .bind(filter.status.map(MessageStatus::as_str))
        .bind(filter.from)
        .bind(filter.to)
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *c)
        .await
    })?;
    rows.into_iter().map(Message::try_from).collect()
}

/// Finds the message a provider knows by its own id.
pub(crate) async fn by_provider_id(
    db: &Db,
    provider: &str,
    provider_id: &str,
) -> Result<Option<Message>, MessagingError> {
    let mut conn = db.conn().await?;
    let row: Option<Row> = run!(conn, |c| {
        sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM messages WHERE provider = $1 AND provider_message_id = $2"
        )))
        .bind(provider)
        .bind(provider_id)
        .fetch_optional(&mut *c)
        .await
    })?;
    row.map(Message::try_from).transpose()
}

/// How many messages of `channel` were handed over since `since` (the daily cap).
pub(crate) async fn sent_since(db: &Db, channel: Channel, since: DateTime<Utc>) -> Result<i64, MessagingError> {
    let mut conn = db.conn().await?;
    let n: i64 = run!(conn, |c| {
        sqlx::query_scalar("SELECT COUNT(*) FROM messages WHERE channel = $1 AND sending_at >= $2")
            .bind(channel.as_str())
            .bind(since)
            .fetch_one(&mut *c)
            .await
    })?;
    Ok(n)
}

/// Records a successful hand-over in one statement: the provider and its id, and, when the
/// channel confirmed delivery, the move to `delivered` (text of a verification message cleared).
pub(crate) async fn record_sent(
    conn: &mut impl Target,
    id: Uuid,
    provider: &str,
    provider_message_id: Option<&str>,
    delivered: bool,
    at: DateTime<Utc>,
) -> Result<(), MessagingError> {
    let sql = if delivered {
        "UPDATE messages SET provider = $1, provider_message_id = $2, status = 'delivered', delivered_at = $3,
                updated_at = $3,
                body = CASE WHEN is_verification THEN '（验证码内容已清除）' ELSE body END,
                subject = CASE WHEN is_verification THEN '' ELSE subject END
         WHERE id = $4 AND status = 'sending'"
    } else {
        "UPDATE messages SET provider = $1, provider_message_id = $2, updated_at = $3 WHERE id = $4 AND status = 'sending'"
    };
    let updated = exec!(conn, sqlx::query(sql).bind(provider).bind(provider_message_id).bind(at).bind(id))?;
    if updated == 1 {
        let (status, detail) = if delivered {
            ("delivered", "已送达")
        } else {
            ("accepted", "服务商已受理，等待送达回执")
        };
        add_event(conn, id, status, detail, at).await?;
    }
    Ok(())
}

/// Gives up on messages handed to a provider before `before` that never got a receipt.
pub(crate) async fn expire_sending(db: &Db, before: DateTime<Utc>, detail: &str) -> Result<u64, MessagingError> {
    let mut tx = db.begin().await?;
    let ids: Vec<Uuid> = run!(tx, |c| {
        sqlx::query_scalar("SELECT id FROM messages WHERE status = 'sending' AND sending_at < $1 LIMIT 1000")
            .bind(before)
            .fetch_all(&mut *c)
            .await
    })?;
    let now = db.now();
    let mut expired = 0;
    for id in ids {
        if transition(&mut tx, id, &[MessageStatus::Sending], MessageStatus::TemporaryFailure, detail, now).await? {
            expired += 1;
        }
    }
    tx.commit().await?;
    Ok(expired)
}
