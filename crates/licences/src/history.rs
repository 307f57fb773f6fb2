//! A licence's history (签发、导入、注销 …), written in the transaction of each change and shown
//! to staff who manage it.

use crate::{LicenceError, LicenceId, Licences};
use chrono::{DateTime, Utc};
use govhall_audit::Actor;
use govhall_db::{Tx, exec, run, sqlx};
use serde::Serialize;

/// One change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct LicenceEvent {
    /// Its place in the licence's history, from 1.
    pub seq: i32,
    /// `issued`, `imported`, `revoked`, `replaced` (this one was re-issued) or `reissued` (this
    /// one replaces another).
    pub action: String,
    /// What happened, in Chinese.
    pub detail: String,
    /// Who (a name, or the system).
    pub actor_name: String,
    /// When.
    pub at: DateTime<Utc>,
}

impl LicenceEvent {
    /// The action in Chinese.
    pub fn label(&self) -> &'static str {
        match self.action.as_str() {
            "issued" => "签发",
            "imported" => "导入存量证照",
            "revoked" => "注销",
            "replaced" => "换发（旧证）",
            "reissued" => "换发（新证）",
            _ => "变更",
        }
    }
}

/// Records a change of licence `id` in `tx`.
pub(crate) async fn record(
    tx: &mut Tx,
    id: LicenceId,
    action: &str,
    detail: &str,
    actor: &Actor,
) -> Result<(), LicenceError> {
    let now = tx.db().now();
    let name = actor.label.split_once(':').map_or(actor.label.as_str(), |(_, n)| n).to_owned();
    exec!(
        tx,
        sqlx::query(
            "INSERT INTO licence_events (licence_id, seq, action, detail, actor_name, at)
             VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM licence_events WHERE licence_id = $1), $2, $3, $4, $5)"
        )
        .bind(id.as_uuid())
        .bind(action)
        .bind(detail)
        .bind(&name)
        .bind(now)
    )?;
    Ok(())
}

impl Licences {
    /// The history of a licence staff may manage, oldest first.
    pub async fn history(
        &self,
        access: &govhall_identity::Access,
        id: LicenceId,
    ) -> Result<Vec<LicenceEvent>, LicenceError> {
        self.for_staff(access, id).await?;
        let mut conn = self.db().conn().await?;
        Ok(run!(conn, |c| sqlx::query_as(
            "SELECT seq, action, detail, actor_name, at FROM licence_events WHERE licence_id = $1 ORDER BY seq"
        )
        .bind(id.as_uuid())
        .fetch_all(&mut *c)
        .await)?)
    }
}
